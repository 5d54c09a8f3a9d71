"""Figure builders: plain functions, checked without a running app."""
import numpy as np

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
