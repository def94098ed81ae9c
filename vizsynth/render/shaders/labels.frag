#version 330 core
// The object's instance id into the integer attachment, its z-depth in metres into the float one;
// with DEPTH_PNG defined also the depth PNG's sample into a third: z / depth_scale_m rounded half
// to even (as vizsynth.maps.encode_depth rounds), 0 past the uint16 range, its two bytes swapped
// so that the read-back memory holds it big-endian, PNG's byte order.
in float depth_m;
uniform uint instance_id;
layout(location = 0) out uint id_out;
layout(location = 1) out float depth_out;
#ifdef DEPTH_PNG
uniform float depth_scale_m;
layout(location = 2) out uint depth_png_out;
#endif

void main()
{
    id_out = instance_id;
    depth_out = depth_m;
#ifdef DEPTH_PNG
    float units = roundEven(depth_m / depth_scale_m);
    uint sample_value = (units > 65535.0 || units < 0.0) ? 0u : uint(units);
    depth_png_out = ((sample_value & 255u) << 8) | (sample_value >> 8);
#endif
}
