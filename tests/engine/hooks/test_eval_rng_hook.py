"""EvalRNGIsolationHook: validating during training does not change the training."""


def test_validation_leaves_training_unchanged(toy, tmp_path):
    plain = toy.make_runner(tmp_path / 'plain')
    plain.train()
    with_val = toy.make_runner(tmp_path / 'val', val=True)
    with_val.train()
    toy.assert_same_state(toy.model_state(with_val), toy.model_state(plain))


def test_control_without_the_hook_validation_changes_training(toy, tmp_path):
    plain = toy.make_runner(tmp_path / 'plain')
    plain.train()
    with_val = toy.make_runner(tmp_path / 'val', val=True, default_hooks=dict(eval_rng=None))
    with_val.train()
    assert not toy.model_state(with_val)['fc.weight'].equal(toy.model_state(plain)['fc.weight'])
