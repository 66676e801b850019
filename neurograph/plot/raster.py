"""A mesh drawn as one image: every face projected into a pixel grid with a depth buffer.

matplotlib draws a ``PolyCollection`` face by face: building one ``Path`` per face and
rendering it took most of a mesh neuron's QC picture (about 1 s of 1.2-1.3 s on the 81k-face
MICrONS mesh; ``docs/batch.md``, *QC pictures*), and larger meshes had to be drawn from a
random subset of their faces, with holes. Here a Numba kernel fills each projected face into
an image, keeping at each pixel the face nearest the viewer, and draws the edges of faces
narrower than 2 pixels too, so that neurites thinner than a pixel still show as a line of
pixels. The image is shaded by how squarely each face looks at the viewer, so the shape reads
in depth, and handed to ``imshow`` once.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.image import AxesImage
from matplotlib.transforms import Bbox
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
        ``-(u x v)``, so of two faces on one pixel the one further along ``u x v`` is drawn.
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
    basis = np.asarray(basis, np.float64)
    toward = np.cross(basis[:, 0], basis[:, 1])
    uv = np.ascontiguousarray(vertices @ basis)
    depth = vertices @ toward
    x0, x1, y0, y1 = (float(v) for v in extent)
    scale = np.array([width / max(x1 - x0, 1e-300), height / max(y1 - y0, 1e-300)])
    pix = (uv - np.array([x0, y0])) * scale
    return _fill(pix, depth, vertices, np.ascontiguousarray(faces, np.int64), int(width), int(height),
                 float(scale[0] * scale[1]), EDGE_ON_SHADE)


@njit(cache=True)
def _put(face: np.ndarray, zbuf: np.ndarray, x: int, y: int, z: float, f: int) -> None:
    """Face ``f`` at pixel (x, y) if it is nearer than what is there."""
    if 0 <= x < face.shape[1] and 0 <= y < face.shape[0] and z > zbuf[y, x]:
        zbuf[y, x] = z
        face[y, x] = f


@njit(cache=True)
def _line(face: np.ndarray, zbuf: np.ndarray, ax: float, ay: float, bx: float, by: float, z: float, f: int) -> None:
    """Every pixel the segment from a to b passes through (a DDA in steps under a pixel), the
    segment first clipped to the image (a face reaching far outside it costs no steps there)."""
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
    ax, ay, bx, by = ax + t0 * (bx - ax), ay + t0 * (by - ay), ax + t1 * (bx - ax), ay + t1 * (by - ay)
    steps = int(math.ceil(max(abs(bx - ax), abs(by - ay)))) + 1
    for k in range(steps + 1):
        t = k / steps
        _put(face, zbuf, int(math.floor(ax + t * (bx - ax))), int(math.floor(ay + t * (by - ay))), z, f)


@njit(cache=True)
def _fill(pix: np.ndarray, depth: np.ndarray, vertices: np.ndarray, faces: np.ndarray, width: int, height: int,
          pixels_per_unit2: float, edge_on: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`face_image` on pixel coordinates: each face at its mean depth, its interior by
    pixel centres, its edges by the pixels they cross."""
    face = np.full((height, width), -1, np.int32)
    zbuf = np.full((height, width), -np.inf, np.float32)  # depth order only
    shade = np.ones(faces.shape[0])
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        ax, ay, bx, by, cx, cy = pix[a, 0], pix[a, 1], pix[b, 0], pix[b, 1], pix[c, 0], pix[c, 1]
        z = (depth[a] + depth[b] + depth[c]) / 3.0
        if not (math.isfinite(ax + ay + bx + by + cx + cy) and math.isfinite(z)):
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
        lo_x, hi_x = int(math.floor(min(ax, bx, cx))), int(math.floor(max(ax, bx, cx)))
        lo_y, hi_y = int(math.floor(min(ay, by, cy))), int(math.floor(max(ay, by, cy)))
        if lo_x == hi_x and lo_y == hi_y:  # within one pixel (most faces of a fine mesh)
            _put(face, zbuf, lo_x, lo_y, z, f)
            continue
        if area2 != 0.0:
            sign = 1.0 if area2 > 0 else -1.0
            for y in range(max(lo_y, 0), min(hi_y, height - 1) + 1):
                py = y + 0.5
                for x in range(max(lo_x, 0), min(hi_x, width - 1) + 1):
                    px = x + 0.5
                    w0 = ((bx - ax) * (py - ay) - (by - ay) * (px - ax)) * sign
                    w1 = ((cx - bx) * (py - by) - (cy - by) * (px - bx)) * sign
                    w2 = ((ax - cx) * (py - cy) - (ay - cy) * (px - cx)) * sign
                    if w0 >= 0 and w1 >= 0 and w2 >= 0:
                        _put(face, zbuf, x, y, z, f)
        # a face narrower than 2 pixels may hold no pixel centre (a thin neurite's faces):
        # its edges are drawn too, so that it shows as a line
        longest = max(math.hypot(bx - ax, by - ay), math.hypot(cx - bx, cy - by), math.hypot(ax - cx, ay - cy))
        if abs(area2) < 2.0 * longest:
            _line(face, zbuf, ax, ay, bx, by, z, f)
            _line(face, zbuf, bx, by, cx, cy, z, f)
            _line(face, zbuf, cx, cy, ax, ay, z, f)
    return face, shade


class MeshImage(AxesImage):
    """A projected mesh on an Axes, rasterised again at each draw for the Axes' current view and
    size in screen pixels (:func:`face_image`): sharp after zooming or panning and at any
    ``savefig`` dpi, and a view that did not change is not rasterised twice.

    Made by :func:`draw_mesh`. Its data limits are the whole mesh's projection.
    """

    def __init__(self, ax, vertices: np.ndarray, faces: np.ndarray, face_colors: np.ndarray, basis: np.ndarray,
                 extent: tuple[float, float, float, float], oversample: float = 2.0, shade: bool = True,
                 **kwargs) -> None:
        super().__init__(ax, origin="lower", interpolation="antialiased", **kwargs)
        self._vertices = np.ascontiguousarray(vertices, np.float64)
        self._faces = np.ascontiguousarray(faces, np.int64)
        self._colors = np.clip(np.asarray(face_colors, float), 0.0, 1.0)
        self._basis = np.asarray(basis, float)
        self._full = tuple(float(v) for v in extent)
        self._view = self._full
        self._key: tuple | None = None
        self.oversample = float(oversample)
        self.shade = bool(shade)
        self.set_data(np.zeros((1, 1, 4), np.uint8))
        self.set_extent(self._full)  # the data limits: the whole mesh

    def get_extent(self) -> tuple[float, float, float, float]:
        """The part of the projection the current image covers (data units)."""
        return self._view

    def _in_view(self) -> tuple[float, float, float, float] | None:
        """The part of the mesh's projection inside the Axes' limits, None if none."""
        (x0, x1), (y0, y1) = sorted(self.axes.get_xlim()), sorted(self.axes.get_ylim())
        fx0, fx1, fy0, fy1 = self._full
        view = (max(x0, fx0), min(x1, fx1), max(y0, fy0), min(y1, fy1))
        return view if view[0] < view[1] and view[2] < view[3] else None

    def get_window_extent(self, renderer=None) -> Bbox:
        """Display box of the part in view (layout engines must not see a zoomed-out mesh
        reaching far beyond the Axes)."""
        view = self._in_view()
        if view is None:
            return Bbox.null()
        return Bbox.from_extents(view[0], view[2], view[1], view[3]).transformed(self.get_transform())

    def rasterise(self) -> np.ndarray | None:
        """Make the image for the Axes' current view and pixel size (8-bit RGBA, row 0 at the
        bottom), keep it as the artist's data and return it; None when no part of the mesh is in view."""
        ax = self.axes
        view = self._in_view()
        if view is None:
            return None
        (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        # pixels per data unit on screen, times the oversampling; at most MAX_PIXELS in all
        sx = self.oversample * ax.bbox.width / (x1 - x0)
        sy = self.oversample * ax.bbox.height / (y1 - y0)
        shrink = min(1.0, math.sqrt(MAX_PIXELS / max((view[1] - view[0]) * sx * (view[3] - view[2]) * sy, 1.0)))
        width = max(1, int(math.ceil((view[1] - view[0]) * sx * shrink)))
        height = max(1, int(math.ceil((view[3] - view[2]) * sy * shrink)))
        key = (view, width, height)
        if key != self._key:
            face, shade = face_image(self._vertices, self._faces, self._basis, width, height, view)
            rgba = np.zeros((height, width, 4), np.uint8)
            seen = face >= 0
            drawn = face[seen]
            light = shade[drawn, None] if self.shade else 1.0
            rgba[seen, :3] = np.rint(255 * self._colors[drawn, :3] * light)
            rgba[seen, 3] = np.rint(255 * self._colors[drawn, 3]) if self._colors.shape[1] == 4 else 255
            callback, self.stale_callback = self.stale_callback, None  # new data inside a draw: no redraw
            try:
                self.set_data(rgba)
            finally:
                self.stale_callback = callback
            self._view, self._key = view, key
        return np.asarray(self.get_array())

    def draw(self, renderer) -> None:
        if self.get_visible() and self.rasterise() is not None:
            super().draw(renderer)


#: the most pixels one mesh image holds (its buffers take 8 bytes each while it is made)
MAX_PIXELS = 16_000_000


def draw_mesh(ax, vertices: np.ndarray, faces: np.ndarray, face_colors: np.ndarray, basis: np.ndarray,
              oversample: float = 2.0, shade: bool = True, zorder: float = 1.0) -> MeshImage | None:
    """Draw a projected mesh on ``ax`` as one shaded image, made at each draw for the view shown
    (:class:`MeshImage`, :func:`face_image`).

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
        Image pixels per screen pixel along each side (the image is smoothed down to the screen).
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
