"""SynthReID identities: families of near-duplicates, unique keys, dependent attributes."""
import numpy as np
import pytest

from reidengine.datasets.synthreid.identities import (ATTRIBUTES, identity_key, normalise, random_identity,
                                                      sample_identities)

# attributes that only make sense together: a difference inside one group is one "part" difference
GROUPS = [{'hat', 'hat_colour'}, {'bag', 'bag_colour', 'bag_side'}, {'upper_pattern', 'accent_colour'}]


def part_differences(a, b):
    """The number of parts (attribute groups) in which two people differ."""
    diff = {k for k in a if a[k] != b[k]}
    parts = 0
    for group in GROUPS:
        if diff & group:
            parts += 1
            diff -= group
    return parts + len(diff)


def test_families_differ_in_one_part_from_their_base():
    # family size 3 and one change: ids 0,1,2 are a family, member 1 and 2 are member 0 with one part changed
    people = sample_identities(30, np.random.default_rng(0), family_size=(3, 3), changes=(1, 1))
    assert len(people) == 30
    for base in range(0, 30, 3):
        for member in (base + 1, base + 2):
            assert part_differences(people[base], people[member]) == 1


def test_two_changes_give_at_most_two_parts():
    people = sample_identities(40, np.random.default_rng(1), family_size=(4, 4), changes=(2, 2))
    counts = [part_differences(people[b], people[b + k]) for b in range(0, 40, 4) for k in (1, 2, 3)]
    # a second change may undo or hit the same part as the first one, never a third part
    assert set(counts) <= {1, 2} and counts.count(2) > len(counts) // 2


def test_identities_are_distinct_and_respect_taken():
    taken = set()
    first = sample_identities(50, np.random.default_rng(2), taken=taken)
    second = sample_identities(50, np.random.default_rng(2), taken=taken)  # same stream: would repeat
    keys = [identity_key(p) for p in first + second]
    assert len(set(keys)) == 100
    assert len(taken) == 100


def test_values_come_from_the_palettes_and_not_applicable_is_normalised():
    for person in sample_identities(300, np.random.default_rng(3)):
        for name, value in person.items():
            assert value in ATTRIBUTES[name] or value == '-'
        assert (person['hat_colour'] == '-') == (person['hat'] == 'none')
        assert (person['bag_colour'] == '-') == (person['bag'] == 'none')
        assert (person['bag_side'] == '-') == (person['bag'] == 'none')
        assert (person['accent_colour'] == '-') == (person['upper_pattern'] == 'plain')
        assert person['accent_colour'] != person['upper_colour']  # a pattern must show on its cloth


def test_key_ignores_mirror_only_and_not_applicable_attributes():
    person = normalise(dict(random_identity(np.random.default_rng(4)), bag='handbag', bag_colour='red',
                            bag_side='left'))
    assert identity_key(person) == identity_key(dict(person, bag_side='right'))
    no_hat = dict(person, hat='none')
    assert identity_key(no_hat) == identity_key(dict(no_hat, hat_colour='yellow'))
    assert identity_key(person) != identity_key(dict(person, bag_colour='blue'))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='family_size'):
        sample_identities(3, np.random.default_rng(0), family_size=(3, 2))
    with pytest.raises(ValueError, match='changes'):
        sample_identities(3, np.random.default_rng(0), changes=(0, 1))
    with pytest.raises(ValueError, match="'hat_colour'"):
        normalise(dict(random_identity(np.random.default_rng(0)), hat='cap', hat_colour='-'))
