"""Each flag validator's refusal, read in this process: the value, the flag it names and the fix.

How a refusal reaches the user (one line, no traceback, nothing written) is the same for
every validator; ``test_adversarial.test_bad_values_are_one_line`` runs a few of these as
a user does, so that path is covered without a process per value.
"""

import pytest
from absl import flags
from infogan_tf_launchers import command

TINY = ["--batch_size=8", "--updates_per_epoch=2", "--max_epoch=1", "--noevaluate"]


@pytest.fixture
def parse():
    """Parse a command line with the launchers' flags; every flag back at its default afterwards."""
    command.define_term_flags()

    def parse(*argv: str) -> None:
        command.FLAGS.unparse_flags()
        command.FLAGS(["run_mnist_exp.py", "--exp_name=x", *TINY, *argv])

    yield parse
    command.FLAGS.unparse_flags()


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--seed=-1", "--seed"),
        ("--seed=4294967296", "--seed"),
        ("--seeds=0,0", "--seeds lists 0 more than once"),
        ("--seeds=1,²", "--seeds must be integers"),
        ("--latent_spec=uniform:²,categorical:10:reg", "dimension '²' is not a positive integer"),
        ("--eval_samples=2", "--eval_samples"),
        ("--invariance_overclusters=30", "set --invariance_coeff > 0 too"),
        ("--invariance_fakes", "set --invariance_coeff > 0 too"),
        ("--invariance_fakes --invariance_coeff=1 --reuse_fake_batch", "drop --reuse_fake_batch"),
        ("--invariance_leads", "set --invariance_coeff > 0 too"),
        ("--invariance_leads --invariance_fakes --invariance_coeff=1", "drop one of them"),
        ("--invariance_leads_from=1", "set --invariance_coeff > 0 too"),
        ("--invariance_leads_from=1 --invariance_coeff=1", "add --invariance_leads"),
        ("--invariance_leads_from=2 --invariance_leads --invariance_coeff=1", "past the run's last update (2)"),
        ("--invariance_leads_from=-1", "--invariance_leads_from"),
        ("--invariance_overclusters=1 --invariance_coeff=1", "at least 2 clusters"),
        ("--invariance_copies=0", "--invariance_copies"),
        ("--preset=no_such_preset", "--preset"),
        ("--invariance_scale=0.9", "--invariance_scale"),
        ("--invariance_shear=1.5", "--invariance_shear"),
        ("--invariance_elastic=-3", "--invariance_elastic"),
        ("--invariance_elastic_sigma=0", "--invariance_elastic_sigma"),
        ("--invariance_erase=-1", "--invariance_erase"),
        ("--invariance_erase=8", "set --invariance_coeff > 0 too"),
        ("--invariance_erased_copies=1", "set --invariance_coeff > 0 too"),
        ("--generator_average=1", "--generator_average: the decay of G's weight average must lie strictly between"),
        ("--generator_average=-0.1", "strictly between 0 and 1"),
        ("--generator_weights=ema", "--generator_weights"),
        ("--generator_average_from=4000", "--generator_average_from delays an average that --generator_average keeps"),
        ("--generator_average_from=-1 --generator_average=0.9", "--generator_average_from"),
        ("--image_size=30", "--image_size must be one of the networks' sizes: 28, 32, 64"),
        ("--channels=2", "--channels must be 1 (grey) or 3 (colour)"),
        ("--test_share=1", "--test_share must lie in [0, 1)"),
        ("--in_memory_limit_mb=-1", "--in_memory_limit_mb"),
        ("--dataset=tfds:", "--dataset=tfds: is unknown"),
        ("--dataset=imagenet", "or tfds:NAME"),
        ("--network_type=resnet", "--network_type=resnet is unknown; known: conv64, mnist, svhn, or auto"),
    ],
)
def test_a_bad_value_is_refused_naming_its_flag(parse, flag, message):
    with pytest.raises((flags.Error, ValueError)) as refused:
        parse(*flag.split())
        command.experiment_config()
    assert message in str(refused.value)


@pytest.mark.parametrize("name", ["a/b", "..", "../escape", "/abs", ".hidden", "a/../b"])
def test_a_run_name_that_is_not_a_plain_directory_name_is_refused(parse, name):
    with pytest.raises(flags.IllegalFlagValueError, match="cannot name a run directory"):
        parse(f"--exp_name={name}")


def test_good_values_pass(parse):
    parse("--seeds=0,1", "--invariance_coeff=1", "--invariance_fakes", "--generator_average=0.9")
    assert command.experiment_config().run.seeds == (0, 1)
    parse("--dataset=tfds:cifar10", "--image_size=32", "--channels=3", "--tfds_label_key=label", "--network_type=auto")
    config = command.experiment_config()
    assert (config.dataset, config.images.image_size, config.images.channels) == ("tfds:cifar10", 32, 3)
    assert (config.images.tfds_label_key, config.model.network_type) == ("label", "auto")
