#version 330 core
// The geometric normal of the rendered triangle, facing the camera, in the OpenCV camera frame.
in vec3 cam_position;
out vec4 frag_color;

void main()
{
    vec3 n = normalize(cross(dFdx(cam_position), dFdy(cam_position)));
    if (dot(n, cam_position) > 0.0) {
        n = -n;
    }
    frag_color = vec4(n.x, -n.y, -n.z, 1.0);
}
