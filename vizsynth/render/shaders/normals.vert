#version 330 core
// Surface normals pass: positions only; the fragment shader derives the face normal.
layout(location = 0) in vec3 position;
layout(location = INST_M_LOC) in mat4 inst_m;

uniform mat4 P;
uniform mat4 V;
uniform mat4 M;

out vec3 cam_position;  // OpenGL camera frame

void main()
{
    vec4 p = V * M * inst_m * vec4(position, 1.0);
    cam_position = p.xyz;
    gl_Position = P * p;
}
