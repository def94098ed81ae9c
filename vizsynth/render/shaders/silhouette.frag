#version 330 core
// Amodal silhouettes: every covered pixel of the object's tile is 255 in the R8 atlas.
out vec4 frag_color;

void main()
{
    frag_color = vec4(1.0);
}
