#version 330 core
// The other frame's camera-frame position of the surface seen here, and the object's id.
in vec3 other_position;
uniform float instance_id;
out vec4 frag_color;

void main()
{
    frag_color = vec4(other_position, instance_id);
}
