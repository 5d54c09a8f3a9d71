"""A person's own image prepared as each data set's images were (vae_core.preprocess)."""
import io

import numpy as np
import pytest
from PIL import Image

from vae_core.preprocess import ImageInputError, centre_of_mass, prepare_for, read_image, to_grey


def stroke(h=280, w=280, rows=(20, 120), cols=(200, 230), value=1.0):
    """A bar of ink in the top-right corner of a black canvas: far from the centre."""
    grey = np.zeros((h, w))
    grey[rows[0]:rows[1], cols[0]:cols[1]] = value
    return grey


def test_an_off_centre_stroke_ends_up_centred_by_its_centre_of_mass_in_28_by_28():
    x, recipe = prepare_for("mnist", stroke(), (1, 28, 28))
    img = x[0].numpy()
    r, c = centre_of_mass(img)
    assert abs(r - 14) <= 0.5 and abs(c - 14) <= 0.5  # whole-pixel shifts, as MNIST's
    rows, cols = np.nonzero(img > 0.1)
    assert rows.max() - rows.min() + 1 == 20  # the longer side of the box fitted into 20 pixels
    assert cols.max() - cols.min() + 1 == 6  # aspect kept: 100 x 30 -> 20 x 6
    assert "centre of mass" in recipe


def test_the_centre_of_mass_not_the_box_centre_is_what_mnist_centres():
    grey = stroke(rows=(40, 200), cols=(60, 80))
    grey[40:60, 80:200] = 1.0  # a "7"-like top bar: the mass sits left of and above the box centre
    img = prepare_for("mnist", grey, (1, 28, 28))[0][0].numpy()
    rows, cols = np.nonzero(img > 0.1)
    box_centre = ((rows.min() + rows.max() + 1) / 2, (cols.min() + cols.max() + 1) / 2)
    assert abs(centre_of_mass(img)[1] - 14) <= 0.5 and abs(box_centre[1] - 14) > 1.5


def test_dark_ink_on_paper_is_inverted_to_light_on_dark():
    paper = 1.0 - stroke()
    x = prepare_for("mnist", paper, (1, 28, 28))[0][0].numpy()
    assert x[0, 0] == 0 and x.max() > 0.9  # the background is black, the ink bright


def test_fashion_centres_the_box_with_its_longer_side_28():
    img = prepare_for("fashion-mnist", stroke(rows=(10, 150), cols=(0, 70)), (1, 28, 28))[0][0].numpy()
    rows, cols = np.nonzero(img > 0.1)
    assert rows.max() - rows.min() + 1 == 28 and abs((cols.min() + cols.max() + 1) / 2 - 14) <= 0.5


def test_digits_are_8_by_8_block_counts_in_sixteenths():
    img = prepare_for("digits", stroke(), (1, 8, 8))[0][0].numpy()
    assert img.shape == (8, 8)
    assert np.allclose(img * 16, np.round(img * 16)) and img.max() == 1.0


def test_a_data_set_without_a_recipe_is_resized_to_its_shape():
    x, recipe = prepare_for("folder", stroke(), (3, 16, 16))
    assert x.shape == (3, 16, 16) and "no recipe" in recipe


def test_a_blank_canvas_is_a_message():
    with pytest.raises(ImageInputError, match="blank"):
        prepare_for("mnist", np.zeros((280, 280)), (1, 28, 28))


def test_rgba_canvas_pixels_become_grey():
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[2:5, 2:5, :3] = 255
    grey = to_grey(rgba)
    assert grey.shape == (10, 10) and grey[3, 3] == pytest.approx(1.0) and grey[8, 8] == 0


def png(array: np.ndarray, mode="L") -> bytes:
    out = io.BytesIO()
    Image.fromarray(array, mode).save(out, format="PNG")
    return out.getvalue()


def test_an_uploaded_png_is_read_and_a_transparent_background_is_paper():
    la = np.zeros((40, 40, 2), np.uint8)
    la[10:30, 18:22] = (0, 255)  # black ink, opaque; the rest transparent
    grey = read_image(png(la, "LA"), "seven.png")
    assert grey[0, 0] == 1.0 and grey[20, 20] == 0.0  # paper white, ink black: inverted later


@pytest.mark.parametrize("data, problem", [(b"not an image at all", "not a picture"),
                                           (b"\x89PNG" + b"0" * (11 * 2**20), "MB")])
def test_a_bad_upload_is_a_message(data, problem):
    with pytest.raises(ImageInputError, match=problem):
        read_image(data, "upload.png")


def test_a_file_that_is_not_a_picture_is_named_in_words_not_an_objects_repr():
    """A fake PNG got "cannot identify image file <_io.BytesIO object at 0x7f…>" (issue 27)."""
    from vae_core.preprocess import ImageInputError, read_image

    with pytest.raises(ImageInputError) as err:
        read_image(b"this is not a picture", "digit.png")
    assert str(err.value) == "digit.png is not a picture this page can read: PNG or JPEG, please."


def test_a_colour_upload_keeps_its_colours_for_a_colour_model_and_turns_grey_for_a_grey_one():
    import io

    from PIL import Image

    picture = np.zeros((60, 90, 3), np.uint8)
    picture[:] = (210, 190, 140)  # sand
    picture[20:40, 35:55] = (20, 160, 40)  # a green blob in the middle
    data = io.BytesIO()
    Image.fromarray(picture).save(data, format="PNG")
    colour = read_image(data.getvalue(), colour=True)
    assert colour.shape == (60, 90, 3)
    x, recipe = prepare_for("folder", colour, (3, 16, 16))
    assert x.shape == (3, 16, 16) and "in colour" in recipe
    centre, corner = x[:, 8, 8], x[:, 0, 0]
    assert centre[1] > centre[0] + 0.3 and corner[0] > corner[2] + 0.2  # green in the middle, sand around
    assert read_image(data.getvalue()).shape == (60, 90)  # without colour=True: grey, as before
    grey = io.BytesIO()
    Image.fromarray(picture.mean(2).astype(np.uint8)).save(grey, format="PNG")
    assert read_image(grey.getvalue(), colour=True).ndim == 2  # a grey picture stays grey
    assert prepare_for("folder", colour, (1, 16, 16))[0].shape == (1, 16, 16)  # a grey model: its luminance
