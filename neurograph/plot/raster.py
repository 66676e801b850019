"""A mesh drawn as one image: every face projected into a pixel grid with a depth buffer.

matplotlib draws a ``PolyCollection`` face by face: building one ``Path`` per face and
rendering it took most of a mesh neuron's QC picture (about 1 s of 1.2-1.6 s on the 81k-face
MICrONS mesh; ``docs/batch.md``, *QC pictures*), and larger meshes had to be drawn from a
random subset of their faces, with holes. Here a Numba kernel fills each projected face into
an image, keeping at each pixel the face nearest the viewer (depth interpolated across each
face), and draws the edges of faces narrower than 2 pixels too, so that neurites thinner than a
pixel still show as a line of pixels. The image is shaded by how squarely each face looks at the
viewer, so the shape reads in depth. :class:`MeshImage` makes it when the figure is drawn, for
the view shown and at the output's resolution.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.image import AxesImage
from matplotlib.transforms import Bbox, TransformedBbox
from numba import njit

#: brightness of a face seen edge-on; one seen face-on is 1
EDGE_ON_SHADE = 0.55


def face_image(vertices: np.ndarray, faces: np.ndarray, basis: np.ndarray, width: int, height: int,
               extent: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The face seen at every pixel of a projection, nearest the viewer first.

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Mesh vertices (any unit; ``extent`` is in the same unit after projection).
    faces : (m, 3) int ndarray
    basis : (3, 2) float ndarray
        Orthonormal screen axes (:func:`neurograph.plot.view_basis`); the viewer looks along
        ``-(u x v)``, so of two faces on one pixel the one further along ``u x v`` there is drawn.
    width, height : int
        Image size in pixels.
    extent : (x0, x1, y0, y1)
        The projected area the image covers (as ``imshow``'s ``extent``, ``origin="lower"``:
        row 0 is ``y0``).

    Returns
    -------
    face : (height, width) int32 ndarray
        Index into ``faces`` of the face drawn at each pixel, -1 where there is none.
    shade : (m,) float ndarray
        Brightness of each face, from :data:`EDGE_ON_SHADE` (seen edge-on) to 1 (face-on).
    """
    vertices = np.ascontiguousarray(vertices, np.float64)
    faces = np.ascontiguousarray(faces)
    if faces.dtype != np.int32:
        faces = np.ascontiguousarray(faces, np.int64)
    basis = np.asarray(basis, np.float64)
    toward = np.cross(basis[:, 0], basis[:, 1])
    uv = np.ascontiguousarray(vertices @ basis)
    depth = vertices @ toward
    x0, x1, y0, y1 = (float(v) for v in extent)
    scale = np.array([width / max(x1 - x0, 1e-300), height / max(y1 - y0, 1e-300)])
    pix = (uv - np.array([x0, y0])) * scale
    return _fill(pix, depth, vertices, faces, int(width), int(height), float(scale[0] * scale[1]), EDGE_ON_SHADE)


@njit(cache=True)
def _put(face: np.ndarray, zbuf: np.ndarray, x: int, y: int, z: float, f: int) -> None:
    """Face ``f`` at pixel (x, y) if it is nearer than what is there."""
    if 0 <= x < face.shape[1] and 0 <= y < face.shape[0] and z > zbuf[y, x]:
        zbuf[y, x] = z
        face[y, x] = f


@njit(cache=True)
def _line(face: np.ndarray, zbuf: np.ndarray, ax: float, ay: float, az: float, bx: float, by: float, bz: float,
          f: int) -> None:
    """Every pixel the segment from a to b passes through (a DDA in steps under a pixel, depth
    interpolated), the segment first clipped to the image (a face reaching far outside it costs
    no steps there)."""
    t0, t1 = 0.0, 1.0
    for p, q in ((-(bx - ax), ax + 1.0), (bx - ax, face.shape[1] + 1.0 - ax),
                 (-(by - ay), ay + 1.0), (by - ay, face.shape[0] + 1.0 - ay)):
        if p == 0.0:
            if q < 0.0:
                return  # parallel to this side and outside it
        elif p < 0.0:
            t0 = max(t0, q / p)
        else:
            t1 = min(t1, q / p)
    if t0 > t1:
        return
    ax, ay, az, bx, by, bz = (ax + t0 * (bx - ax), ay + t0 * (by - ay), az + t0 * (bz - az),
                              ax + t1 * (bx - ax), ay + t1 * (by - ay), az + t1 * (bz - az))
    steps = int(math.ceil(max(abs(bx - ax), abs(by - ay)))) + 1
    for k in range(steps + 1):
        t = k / steps
        _put(face, zbuf, int(math.floor(ax + t * (bx - ax))), int(math.floor(ay + t * (by - ay))),
             az + t * (bz - az), f)


@njit(cache=True)
def _pixel(v: float, hi: float) -> int:
    """Pixel index of coordinate ``v``, clamped to [-2, hi + 2] first (no integer overflow)."""
    return int(math.floor(min(max(v, -2.0), hi + 2.0)))


@njit(cache=True)
def _fill(pix: np.ndarray, depth: np.ndarray, vertices: np.ndarray, faces: np.ndarray, width: int, height: int,
          pixels_per_unit2: float, edge_on: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`face_image` on pixel coordinates: each face's interior by pixel centres, with the
    depth interpolated from its corners; its edges by the pixels they cross."""
    face = np.full((height, width), -1, np.int32)
    zbuf = np.full((height, width), -np.inf, np.float32)  # depth order only
    shade = np.ones(faces.shape[0])
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        ax, ay, bx, by, cx, cy = pix[a, 0], pix[a, 1], pix[b, 0], pix[b, 1], pix[c, 0], pix[c, 1]
        za, zb, zc = depth[a], depth[b], depth[c]
        if not (math.isfinite(ax + ay + bx + by + cx + cy) and math.isfinite(za + zb + zc)):
            continue
        area2 = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)  # twice the projected area, pixels
        # |cos| of the angle between the face normal and the view: projected over true area
        e1 = vertices[b] - vertices[a]
        e2 = vertices[c] - vertices[a]
        n0 = e1[1] * e2[2] - e1[2] * e2[1]
        n1 = e1[2] * e2[0] - e1[0] * e2[2]
        n2 = e1[0] * e2[1] - e1[1] * e2[0]
        true2 = math.sqrt(n0 * n0 + n1 * n1 + n2 * n2) * pixels_per_unit2  # twice the area, in pixels
        if true2 > 0:
            shade[f] = edge_on + (1.0 - edge_on) * min(1.0, abs(area2) / true2)
        lo_x, hi_x = _pixel(min(ax, bx, cx), width), _pixel(max(ax, bx, cx), width)
        lo_y, hi_y = _pixel(min(ay, by, cy), height), _pixel(max(ay, by, cy), height)
        if lo_x == hi_x and lo_y == hi_y:  # within one pixel (most faces of a fine mesh)
            _put(face, zbuf, lo_x, lo_y, (za + zb + zc) / 3.0, f)
            continue
        if area2 != 0.0:
            sign = 1.0 if area2 > 0 else -1.0
            total = abs(area2)
            for y in range(max(lo_y, 0), min(hi_y, height - 1) + 1):
                py = y + 0.5
                for x in range(max(lo_x, 0), min(hi_x, width - 1) + 1):
                    px = x + 0.5
                    # each edge's function is the weight of the opposite corner
                    w0 = ((bx - ax) * (py - ay) - (by - ay) * (px - ax)) * sign
                    w1 = ((cx - bx) * (py - by) - (cy - by) * (px - bx)) * sign
                    w2 = ((ax - cx) * (py - cy) - (ay - cy) * (px - cx)) * sign
                    if w0 >= 0 and w1 >= 0 and w2 >= 0:
                        _put(face, zbuf, x, y, (w1 * za + w2 * zb + w0 * zc) / total, f)
        # a face narrower than 2 pixels may hold no pixel centre (a thin neurite's faces):
        # its edges are drawn too, so that it shows as a line
        longest = max(math.hypot(bx - ax, by - ay), math.hypot(cx - bx, cy - by), math.hypot(ax - cx, ay - cy))
        if abs(area2) < 2.0 * longest:
            _line(face, zbuf, ax, ay, za, bx, by, zb, f)
            _line(face, zbuf, bx, by, zb, cx, cy, zc, f)
            _line(face, zbuf, cx, cy, zc, ax, ay, za, f)
    return face, shade


#: the most pixels one mesh image holds: ~8 bytes each while it is made, and matplotlib's
#: resampling of it takes ~75 more (float copies), so 4M pixels cost ~0.3 GB while drawn
MAX_PIXELS = 4_000_000


class MeshImage(AxesImage):
    """A projected mesh on an Axes, rasterised when the figure is drawn (:func:`face_image`),
    for the Axes' current view, at the output's resolution (screen pixels, or the dpi of a
    saved PNG, PDF or SVG) times ``oversample``: sharp after zooming or panning, and an
    unchanged view is not rasterised twice. Its data limits (``get_extent``) are the whole
    mesh's projection.

    Made by :func:`draw_mesh`.
    """

    def __init__(self, ax, vertices: np.ndarray, faces: np.ndarray, face_colors: np.ndarray, basis: np.ndarray,
                 extent: tuple[float, float, float, float], oversample: float = 2.0, shade: bool = True,
                 **kwargs) -> None:
        super().__init__(ax, origin="lower", interpolation="antialiased", **kwargs)
        self._vertices = np.ascontiguousarray(vertices, np.float64)
        faces = np.asarray(faces)
        self._faces = np.ascontiguousarray(faces, np.int32 if len(vertices) < 2**31 else np.int64)
        colors = np.clip(np.asarray(face_colors, float), 0.0, 1.0)
        self._colors = np.rint(255 * colors).astype(np.uint8)  # (m, 3 or 4): 3-4 bytes per face
        self._basis = np.asarray(basis, float)
        self._full = tuple(float(v) for v in extent)
        self._key: tuple | None = None
        self._view = self._full
        self.oversample = float(oversample)
        self.shade = bool(shade)
        self.set_data(np.zeros((1, 1, 4), np.uint8))
        self.set_extent(self._full)  # the data limits: the whole mesh

    def _in_view(self) -> tuple[float, float, float, float] | None:
        """The part of the mesh's projection inside the Axes' limits, None if none."""
        (x0, x1), (y0, y1) = sorted(self.axes.get_xlim()), sorted(self.axes.get_ylim())
        fx0, fx1, fy0, fy1 = self._full
        view = (max(x0, fx0), min(x1, fx1), max(y0, fy0), min(y1, fy1))
        return view if view[0] < view[1] and view[2] < view[3] else None

    @property
    def view(self) -> tuple[float, float, float, float]:
        """(x0, x1, y0, y1): the part of the projection the current image covers (data units)."""
        return self._view

    def get_window_extent(self, renderer=None) -> Bbox:
        """Display box of the part in view (layout engines must not see a zoomed-out mesh
        reaching far beyond the Axes)."""
        view = self._in_view()
        if view is None:
            return Bbox.null()
        return Bbox.from_extents(view[0], view[2], view[1], view[3]).transformed(self.get_transform())

    def get_cursor_data(self, event):
        """No value under the cursor (the image holds colours of faces)."""
        return None

    def rasterise(self, magnification: float = 1.0) -> np.ndarray | None:
        """Make the image of the part in view (8-bit RGBA, row 0 at the bottom) at the Axes'
        size in display pixels times ``magnification`` (a vector backend's dpi / 72) and
        ``oversample``, keep it as the artist's data and return it; None when no part of the
        mesh is in view. Called when the figure is drawn."""
        view = self._in_view()
        if view is None:
            return None
        ax = self.axes
        (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        # pixels per data unit on the output, times the oversampling; at most MAX_PIXELS in all
        sx = self.oversample * magnification * ax.bbox.width / (x1 - x0)
        sy = self.oversample * magnification * ax.bbox.height / (y1 - y0)
        shrink = min(1.0, math.sqrt(MAX_PIXELS / max((view[1] - view[0]) * sx * (view[3] - view[2]) * sy, 1.0)))
        width = max(1, int(math.ceil((view[1] - view[0]) * sx * shrink)))
        height = max(1, int(math.ceil((view[3] - view[2]) * sy * shrink)))
        key = (view, width, height, self.shade)
        if key != self._key:
            face, shade = face_image(self._vertices, self._faces, self._basis, width, height, view)
            # one 8-bit colour per face, shaded; then one lookup per pixel
            face_rgba = np.full((len(self._colors), 4), 255, np.uint8)
            face_rgba[:, :self._colors.shape[1]] = self._colors
            if self.shade:
                face_rgba[:, :3] = np.rint(face_rgba[:, :3] * shade[:, None])
            rgba = np.zeros((height, width, 4), np.uint8)
            seen = face >= 0
            rgba[seen] = face_rgba[face[seen]]
            callback, self.stale_callback = self.stale_callback, None  # new data inside a draw: no redraw
            try:
                self.set_data(rgba)
            finally:
                self.stale_callback = callback
            self._view, self._key = view, key
        return np.asarray(self.get_array())

    def make_image(self, renderer, magnification: float = 1.0, unsampled: bool = False):
        """The image of the part in view, placed there (as ``AxesImage.make_image`` places the
        whole image); also what vector backends call when they merge adjacent images. Without
        resampling (``unsampled``, interpolation "none") the backend places the image itself,
        at magnification 1: it is made at the output's resolution all the same."""
        if self.rasterise(renderer.get_image_magnification() if unsampled else magnification) is None:
            return None, 0, 0, None
        x0, x1, y0, y1 = self._view
        bbox = Bbox(np.array([[x0, y0], [x1, y1]]))
        clip = (self.get_clip_box() or self.axes.bbox) if self.get_clip_on() else self.axes.figure.bbox
        im, left, bottom, trans = self._make_image(self._A, bbox, TransformedBbox(bbox, self.get_transform()), clip,
                                                   magnification, unsampled=unsampled)
        if im is not None and im.ndim == 3 and im.shape[2] == 4:
            # empty pixels: transparent, in the Axes' colour (PostScript drops the alpha, and
            # a premultiplied transparent pixel is black)
            clear = im[..., 3] == 0
            face = np.asarray(to_rgba(self.axes.get_facecolor())[:3])
            im[clear, :3] = np.rint(face * (255 if im.dtype == np.uint8 else 1.0)).astype(im.dtype)
        return im, left, bottom, trans


def draw_mesh(ax, vertices: np.ndarray, faces: np.ndarray, face_colors: np.ndarray, basis: np.ndarray,
              oversample: float = 2.0, shade: bool = True, zorder: float = 1.0) -> MeshImage | None:
    """Draw a projected mesh on ``ax`` as one shaded image, made when the figure is drawn, for
    the view shown (:class:`MeshImage`, :func:`face_image`).

    Parameters
    ----------
    ax : matplotlib Axes
    vertices : (n, 3) float ndarray
        Vertices in the unit of the axes (µm in neurograph's pictures).
    faces : (m, 3) int ndarray
    face_colors : (m, 3) or (m, 4) float ndarray
        RGB(A) colour of each face, in [0, 1].
    basis : (3, 2) float ndarray
        Orthonormal screen axes (:func:`neurograph.plot.view_basis`).
    oversample : float, default 2
        Image pixels per output pixel along each side (the image is smoothed down to the output).
    shade : bool, default True
        Dim each face by how obliquely it is seen (:data:`EDGE_ON_SHADE` edge-on), so the
        shape reads in depth. Turn it off when the colours encode values on a colour map:
        shading changes their lightness, which is how such maps (viridis) show the value.
    zorder : float, default 1

    Returns
    -------
    MeshImage or None
        None for a mesh without faces or without a finite vertex.
    """
    faces = np.asarray(faces)
    if len(faces) == 0:
        return None
    vertices = np.asarray(vertices, float)
    drawn = np.zeros(len(vertices), bool)
    drawn[faces] = True
    used = vertices[drawn] @ basis
    used = used[np.isfinite(used).all(axis=1)]  # a face with a NaN vertex is not drawn
    if len(used) == 0:
        return None
    lo, hi = used.min(axis=0), used.max(axis=0)
    pad = 1e-3 * max(float((hi - lo).max()), 1e-9)  # edge pixels stay whole
    image = MeshImage(ax, vertices, faces, face_colors, basis, (lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad),
                      oversample=oversample, shade=shade, zorder=zorder)
    ax.add_image(image)
    return image
