#version 330 core
// The object's instance id into the integer attachment, its z-depth in metres into the float one.
in float depth_m;
uniform uint instance_id;
layout(location = 0) out uint id_out;
layout(location = 1) out float depth_out;

void main()
{
    id_out = instance_id;
    depth_out = depth_m;
}
