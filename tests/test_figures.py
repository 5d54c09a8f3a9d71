"""Figure builders: plain functions, checked without a running app."""
import numpy as np
import torch
from torchvision.utils import make_grid

from explorer import figures


def test_image_grid_is_one_picture_with_a_label_per_row_and_column():
    images = np.random.rand(2, 5, 1, 8, 8)
    picture = figures.to_uint8_grid(images, scale=3)
    pad = figures.PAD
    assert picture.shape == (pad + 2 * (24 + pad), pad + 5 * (24 + pad), 3) and picture.dtype == np.uint8
    fig = figures.image_grid(images, row_labels=["a", "b"], col_labels=list("vwxyz"), scale=3)
    assert list(fig.layout.yaxis.ticktext) == ["a", "b"] and len(fig.layout.xaxis.ticktext) == 5


def test_latent_map_has_a_trace_per_class_and_hover_index():
    coords = np.random.rand(30, 2)
    labels = np.arange(30) % 3
    fig = figures.latent_map(coords, labels, ["zero", "one", "two", "three"], ("PC 1", "PC 2"))
    assert [t.name for t in fig.data] == ["zero", "one", "two"]
    assert sum(len(t.x) for t in fig.data) == 30
    assert "probe index" in fig.data[0].hovertemplate and fig.layout.xaxis.title.text == "PC 1"


def test_kl_and_objective_figures_state_nats():
    fig = figures.kl_per_dimension(np.array([0.5, 2.0, 0.001]), np.array([True, True, False]))
    assert "nats per image" in fig.layout.yaxis.title.text
    assert list(fig.layout.xaxis.categoryarray) == ["z1", "z0", "z2"]
    bar = figures.objective_bar(80.0, 20.0, beta=4.0)
    assert bar.data[1].x[0] == 80.0 and "nats" in bar.layout.xaxis.title.text
    scatter = figures.reconstruction_vs_kl(np.array([80.0, 90.0]), np.array([20.0, 25.0]), np.array([0, 1]), ["a", "b"])
    assert "nats per image" in scatter.layout.xaxis.title.text and "reconstruction" in scatter.layout.yaxis.title.text


def test_latent_map_rings_the_selection_and_draws_ellipses():
    coords = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, -1.0]])
    fig = figures.latent_map(coords, np.array([0, 1, 0]), ["a", "b"], ("x", "y"), highlight=[2],
                             ellipses=[(np.array([2.0, -1.0]), np.array([0.5, 0.25]))])
    ring = fig.data[-1]
    assert ring.name == "selected" and list(ring.x) == [2.0] and list(ring.customdata[0]) == [2, 0]
    shape = fig.layout.shapes[0]
    assert (shape.x0, shape.x1, shape.y0, shape.y1) == (1.5, 2.5, -1.25, -0.75)


def test_clicked_points_map_back_to_probe_indices():
    from explorer.selection import points_to_indices

    fig = figures.latent_map(np.zeros((4, 2)), np.array([1, 0, 1, 0]), ["a", "b"], ("x", "y"))
    # Streamlit reports a trace and a position in it; the trace of class "b" holds images 0 and 2.
    picked = {"points": [{"curve_number": 1, "point_index": 1}, {"curve_number": 0, "point_index": 0,
                                                                  "customdata": {"0": 9}}]}
    assert points_to_indices(fig, picked) == [2, 1]
    assert points_to_indices(fig, None) == []


def test_posterior_bars_and_training_curve_state_their_units():
    fig = figures.posterior_bars(np.array([0.5, -2.0]), np.array([0.1, 1.0]), np.array([1.2, 0.0]))
    assert list(fig.data[0].error_y.array) == [0.1, 1.0] and "nats per image" in fig.layout.annotations[1].text
    history = [{"kind": "step", "step": 5, "epoch": 1, "reconstruction": 100.0, "kl": 5.0, "elbo": -105.0},
               {"kind": "epoch", "step": 10, "epoch": 1, "val_reconstruction": 90.0, "val_kl": 6.0, "val_elbo": -96.0}]
    curve = figures.training_curve(history)
    held = {t.name: list(t.y) for t in curve.data if "held out" in t.name}
    assert held == {"D, held out": [90.0], "−ELBO, held out": [96.0], "R, held out": [6.0]}
    assert next(t for t in curve.data if t.name == "D, training batches").x[0] == 0.5  # step 5 of 10 per epoch


def test_png_bytes_is_a_png_of_the_grid():
    from io import BytesIO

    from PIL import Image

    picture = figures.to_uint8_grid(np.ones((1, 2, 1, 4, 4)), scale=2)
    image = Image.open(BytesIO(figures.png_bytes(picture)))
    assert image.format == "PNG" and image.size == (picture.shape[1], picture.shape[0])


def test_uint8_grid_matches_torchvision_make_grid():
    """Our numpy tiling (see to_uint8_grid) is pixel for pixel torchvision's."""
    for channels in (1, 3):
        images = np.random.default_rng(channels).random((2, 3, channels, 5, 7), dtype=np.float32)
        flat = torch.as_tensor(images).reshape(6, channels, 5, 7).repeat_interleave(2, 2).repeat_interleave(2, 3)
        expected = make_grid(flat, nrow=3, padding=figures.PAD, pad_value=1.0)
        expected = (expected * 255).round().byte().permute(1, 2, 0).numpy()
        assert np.array_equal(figures.to_uint8_grid(images, scale=2), expected)


def test_an_image_grid_in_a_narrow_column_is_no_taller_than_its_shrunken_picture():
    grid = np.zeros((5, 7, 1, 28, 28))
    full = figures.image_grid(grid).layout.height
    narrow = figures.image_grid(grid, width=460).layout.height
    assert figures.image_grid(grid, width=5000).layout.height == full  # room enough: unchanged
    assert narrow < full
    assert narrow - 90 == round((full - 90) * (460 - 100) / (7 * (28 * 3 + figures.PAD) + figures.PAD))
