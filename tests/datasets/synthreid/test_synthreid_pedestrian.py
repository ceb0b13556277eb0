"""SynthReID pedestrian drawing: body placement, part colours, and what each view shows."""
import numpy as np
import pytest

from reidengine.datasets.synthreid.identities import COLOURS, normalise
from reidengine.datasets.synthreid.pedestrian import Placement, Pose, draw_pedestrian, visible_attributes

SHAPE = (256, 128)
PLACE = Placement(centre_x=64, top=10, height=230)

BASE = normalise(dict(skin='medium', build='regular', hair_colour='black', hair_style='short', hat='none',
                      hat_colour='-', upper_colour='red', upper_pattern='plain', accent_colour='-', sleeves='long',
                      lower_colour='blue', lower_type='trousers', shoes_colour='white', bag='none', bag_colour='-',
                      bag_side='-'))


def draw(person, view, shade=1.0):
    return draw_pedestrian(normalise(person), Pose(view, gait=0.3, shade=shade), PLACE, SHAPE,
                           np.random.default_rng(0))


def test_the_body_fills_its_placement_box():
    for view in ('front', 'back', 'left', 'right'):
        _, alpha = draw(BASE, view)
        rows = np.flatnonzero(alpha.max(axis=1) > 0)
        cols = np.flatnonzero(alpha.max(axis=0) > 0)
        # head top near v=0, feet near v=1 of the placement; the body stays around its axis
        assert PLACE.top - 1 <= rows[0] <= PLACE.top + 0.05 * PLACE.height
        assert PLACE.top + 0.95 * PLACE.height <= rows[-1] <= PLACE.top + PLACE.height + 1
        assert cols[0] >= PLACE.centre_x - 0.2 * PLACE.height and cols[-1] <= PLACE.centre_x + 0.2 * PLACE.height


def test_parts_have_their_palette_colours():
    rgb, alpha = draw(BASE, 'front', shade=1.0)
    chest = rgb[int(PLACE.top + 0.38 * PLACE.height), 64].astype(float)
    shin = rgb[int(PLACE.top + 0.8 * PLACE.height), int(64 - 0.05 * PLACE.height)].astype(float)
    # fabric colours vary by at most +-10 % around the palette colour (lighting on cloth)
    for got, name in ((chest, 'red'), (shin, 'blue')):
        expected = np.array(COLOURS[name], float)
        assert np.all(got >= np.floor(expected * 0.9) - 1) and np.all(got <= np.ceil(expected * 1.1) + 1), name
    assert alpha[int(PLACE.top + 0.38 * PLACE.height), 64] == 255


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_a_logo_shows_only_from_the_front():
    logo = dict(BASE, upper_pattern='logo_circle', accent_colour='yellow')
    assert not same(draw(logo, 'front'), draw(BASE, 'front'))
    for view in ('back', 'left', 'right'):
        assert same(draw(logo, view), draw(BASE, view))
        assert visible_attributes(logo, view) == visible_attributes(BASE, view)
    assert visible_attributes(logo, 'front')['upper_pattern'] == 'logo_circle'


def test_a_handbag_is_hidden_in_the_side_view_facing_away():
    bag = dict(BASE, bag='handbag', bag_colour='brown', bag_side='left')
    assert same(draw(bag, 'right'), draw(BASE, 'right'))
    assert visible_attributes(bag, 'right')['bag'] == 'none'
    for view in ('front', 'back', 'left'):
        assert not same(draw(bag, view), draw(BASE, view))
        assert visible_attributes(bag, view)['bag'] == 'handbag'


def test_front_and_back_show_a_backpack_differently():
    pack = dict(BASE, bag='backpack', bag_colour='black', bag_side='left')
    chest = (int(PLACE.top + 0.32 * PLACE.height), 64)
    # from the back the pack covers the spine; from the front the chest stays the shirt colour
    assert draw(pack, 'back')[0][chest].tolist() != draw(BASE, 'back')[0][chest].tolist()
    assert draw(pack, 'front')[0][chest].tolist() == draw(BASE, 'front')[0][chest].tolist()
    assert not same(draw(pack, 'front'), draw(BASE, 'front'))  # the straps


def test_unknown_view_is_rejected():
    with pytest.raises(ValueError, match="'top'"):
        draw(BASE, 'top')
    with pytest.raises(ValueError, match="'top'"):
        visible_attributes(BASE, 'top')


def test_stripes_run_the_right_way():
    """Horizontal stripes: rows uniform, colour changes down the body; vertical stripes: the reverse."""
    top, bottom = int(PLACE.top + 0.2 * PLACE.height), int(PLACE.top + 0.45 * PLACE.height)
    left, right = int(64 - 0.06 * PLACE.height), int(64 + 0.06 * PLACE.height)
    for kind, uniform_axis in (('hstripes', 1), ('vstripes', 0)):
        rgb, _ = draw(dict(BASE, upper_colour='white', upper_pattern=kind, accent_colour='navy'), 'front')
        chest = rgb[top:bottom, left:right].astype(float).mean(axis=2)  # grey level: white vs navy
        along = chest.std(axis=uniform_axis).mean()  # spread along the stripes
        across = chest.std(axis=1 - uniform_axis).mean()  # spread across them
        assert across > 60 and along < across / 4, kind
