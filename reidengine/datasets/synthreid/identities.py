"""SynthReID identities: a person is a combination of part-level attributes.

Re-identification must rest on part details, not on global colour. Attributes come
from small palettes shared by everybody, and identities are sampled in *families*: a base person plus
siblings that differ from it in one or two parts (a bag, the sleeve length, a logo, the shoe colour...),
so a global colour histogram cannot tell siblings apart while a part-aware model can.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

# Shared clothing palette (RGB, 0-255).
COLOURS: Dict[str, Tuple[int, int, int]] = {
    'black': (32, 32, 36), 'white': (232, 232, 226), 'grey': (128, 128, 130),
    'red': (186, 38, 44), 'navy': (34, 44, 96), 'blue': (66, 104, 168),
    'green': (52, 118, 64), 'yellow': (222, 192, 56), 'brown': (104, 70, 42),
    'beige': (204, 184, 150), 'khaki': (148, 138, 96), 'purple': (108, 62, 136),
}
SKIN_TONES: Dict[str, Tuple[int, int, int]] = {
    'light': (232, 196, 170), 'medium': (196, 146, 108), 'dark': (112, 76, 54)}
HAIR_COLOURS: Dict[str, Tuple[int, int, int]] = {
    'black': (24, 22, 22), 'brown': (88, 58, 34), 'blonde': (208, 176, 110), 'grey': (150, 148, 144)}

# Every attribute and its choices. Colours name entries of the palettes above.
ATTRIBUTES: Dict[str, Tuple[str, ...]] = {
    'skin': tuple(SKIN_TONES),
    'build': ('slim', 'regular', 'broad'),
    'hair_colour': tuple(HAIR_COLOURS),
    'hair_style': ('short', 'long'),
    'hat': ('none', 'cap', 'beanie'),
    'hat_colour': ('black', 'red', 'navy', 'white', 'yellow'),
    'upper_colour': ('black', 'white', 'grey', 'red', 'navy', 'green', 'yellow', 'beige'),
    'upper_pattern': ('plain', 'hstripes', 'vstripes', 'checks', 'logo_circle', 'logo_triangle'),
    'accent_colour': ('black', 'white', 'red', 'navy', 'yellow', 'green'),
    'sleeves': ('short', 'long'),
    'lower_colour': ('black', 'navy', 'grey', 'blue', 'khaki', 'brown'),
    'lower_type': ('trousers', 'shorts', 'skirt'),
    'shoes_colour': ('black', 'white', 'brown', 'red'),
    'bag': ('none', 'backpack', 'handbag', 'shoulder'),
    'bag_colour': ('black', 'brown', 'red', 'blue'),
    'bag_side': ('left', 'right'),
}
ATTRIBUTE_NAMES: Tuple[str, ...] = tuple(ATTRIBUTES)
# Attributes that a mirrored image swaps (training flips images): never the only difference between people.
MIRRORED: Tuple[str, ...] = ('bag_side',)

# Attributes that only exist when another one has a given value: (attribute, owner, absent value).
_DEPENDENT = (('hat_colour', 'hat', 'none'), ('bag_colour', 'bag', 'none'),
              ('bag_side', 'bag', 'none'), ('accent_colour', 'upper_pattern', 'plain'))
NOT_APPLICABLE = '-'

Identity = Dict[str, str]


def normalise(person: Identity) -> Identity:
    """Set attributes that do not exist for this person (hat colour without a hat...) to ``'-'``."""
    out = dict(person)
    for name, owner, absent in _DEPENDENT:
        if out[owner] == absent:
            out[name] = NOT_APPLICABLE
        elif out[name] == NOT_APPLICABLE:
            raise ValueError(f'SynthReID identity: attribute {name!r} is {NOT_APPLICABLE!r} '
                             f'although {owner}={out[owner]!r}')
    return out


def identity_key(person: Identity) -> Tuple[str, ...]:
    """Hashable key of an identity: people with the same key look the same up to a mirror image."""
    person = normalise(person)
    return tuple(person[name] for name in ATTRIBUTE_NAMES if name not in MIRRORED)


def _applicable(person: Identity) -> List[str]:
    dependent = {name: (owner, absent) for name, owner, absent in _DEPENDENT}
    return [name for name in ATTRIBUTE_NAMES if name not in MIRRORED
            and (name not in dependent or person[dependent[name][0]] != dependent[name][1])]


def is_drawable(person: Identity) -> bool:
    """False when a part would be invisible: a pattern drawn in the colour of the cloth under it."""
    return person['accent_colour'] != person['upper_colour']


def random_identity(rng: np.random.Generator) -> Identity:
    """One drawable person with every attribute drawn uniformly from its choices."""
    while True:
        person = normalise({name: choices[rng.integers(len(choices))] for name, choices in ATTRIBUTES.items()})
        if is_drawable(person):
            return person


def _mutate(base: Identity, num_changes: int, rng: np.random.Generator) -> Identity:
    """Change ``num_changes`` applicable attributes of ``base`` to another value each."""
    person = dict(base)
    for _ in range(num_changes):
        name = _applicable(person)[rng.integers(len(_applicable(person)))]
        others = [c for c in ATTRIBUTES[name] if c != person[name]]
        person[name] = others[rng.integers(len(others))]
        # an attribute that becomes applicable (e.g. a bag appears) needs a value of its own
        for dep, owner, absent in _DEPENDENT:
            if owner == name and person[owner] != absent and person[dep] == NOT_APPLICABLE:
                person[dep] = ATTRIBUTES[dep][rng.integers(len(ATTRIBUTES[dep]))]
        person = normalise(person)
    return person


def sample_identities(num: int, rng: np.random.Generator, family_size: Sequence[int] = (4, 8),
                      changes: Sequence[int] = (1, 2), taken: set | None = None) -> List[Identity]:
    """Draw ``num`` distinct identities in families of near-duplicates.

    Each family has a random base person and ``family_size[0]..family_size[1]`` members; every member
    but the first is the base with ``changes[0]..changes[1]`` attributes changed. ``taken`` holds the
    keys already used (updated in place) so that no two identities ever look the same.
    """
    if num < 0:
        raise ValueError(f'SynthReID: number of identities must be >= 0, got {num}')
    lo, hi = family_size
    if not 1 <= lo <= hi:
        raise ValueError(f'SynthReID: family_size must be (min, max) with 1 <= min <= max, got {family_size}')
    c_lo, c_hi = changes
    if not 1 <= c_lo <= c_hi:
        raise ValueError(f'SynthReID: changes must be (min, max) with 1 <= min <= max, got {changes}')
    taken = set() if taken is None else taken
    people: List[Identity] = []
    while len(people) < num:
        base = random_identity(rng)
        size = min(int(rng.integers(lo, hi + 1)), num - len(people))
        family: List[Identity] = []
        for attempt in range(20 * size):  # members that collide with a taken key are drawn again
            if len(family) == size:
                break
            person = base if attempt == 0 else _mutate(base, int(rng.integers(c_lo, c_hi + 1)), rng)
            key = identity_key(person)
            if key not in taken and is_drawable(person):
                taken.add(key)
                family.append(person)
        people.extend(family)
    return people
