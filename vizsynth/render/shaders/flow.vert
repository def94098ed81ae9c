#version 330 core
// Optical-flow pass: rasterised like the label pass (same position expression as pyrender's
// segmentation shader, so the same pixels are covered); carries each surface point's position
// in the other frame's OpenCV camera frame, which is affine in the vertex, so interpolation
// across the triangle is exact.
layout(location = 0) in vec3 position;
layout(location = INST_M_LOC) in mat4 inst_m;

uniform mat4 P;
uniform mat4 V;
uniform mat4 M;
uniform mat4 other_MV;  // mesh units -> the other frame's OpenCV camera frame, metres

out vec3 other_position;

void main()
{
    mat4 light_matrix = P * V;
    gl_Position = light_matrix * M * inst_m * vec4(position, 1.0);
    other_position = (other_MV * inst_m * vec4(position, 1.0)).xyz;
}
