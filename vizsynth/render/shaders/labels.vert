#version 330 core
// Label pass: instance ids and z-depth. gl_Position is pyrender's segmentation shader's expression,
// so the pass covers the same pixels and resolves the same depth-test ties as the colour pass's
// geometry. The camera-frame z is affine in the vertex, so perspective-correct interpolation
// gives the surface's own z at each pixel centre (no depth-buffer quantisation).
layout(location = 0) in vec3 position;
layout(location = INST_M_LOC) in mat4 inst_m;

uniform mat4 P;
uniform mat4 V;
uniform mat4 M;

out float depth_m;

void main()
{
    mat4 light_matrix = P * V;
    gl_Position = light_matrix * M * inst_m * vec4(position, 1.0);  // written exactly as pyrender's
    depth_m = -(V * M * inst_m * vec4(position, 1.0)).z;  // OpenGL cameras look down -z
}
