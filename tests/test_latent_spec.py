import pytest

from infogan_tf.distributions import Bernoulli, Categorical, Gaussian, Uniform
from infogan_tf.latent_spec import MNIST_LATENT_SPEC, LatentSpecError, format_latent_spec, parse_latent_spec


def test_mnist_spec_is_the_originals():
    spec = parse_latent_spec(MNIST_LATENT_SPEC)
    assert [(type(d), d.dim, reg) for d, reg in spec] == [
        (Uniform, 62, False),
        (Categorical, 10, True),
        (Uniform, 1, True),
        (Uniform, 1, True),
    ]
    assert [d.fix_std for d, _ in spec if isinstance(d, Gaussian)] == [False, True, True]


def test_round_trip():
    text = "gaussian:3,bernoulli:2:reg,uniform:4:reg:fix_std,categorical:7:reg"
    spec = parse_latent_spec(text)
    assert isinstance(spec[1][0], Bernoulli)
    assert format_latent_spec(spec) == text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty latent spec"),
        ("uniform:62,categorcal:10:reg", "token 2 'categorcal:10:reg': unknown family 'categorcal'"),
        ("uniform:0:reg", "token 1 'uniform:0:reg': dimension '0'"),
        ("uniform:x:reg", "dimension 'x'"),
        ("uniform", "expected family:dim"),
        ("categorical:10:reg:fix_std", "fix_std applies to uniform and gaussian"),
        ("categorical:10:regular", "unknown option 'regular'"),
        ("categorical:10:reg:reg", "repeated"),
        ("uniform:62", "no regularised code"),
    ],
)
def test_errors_name_the_bad_token(text, fragment):
    with pytest.raises(LatentSpecError, match=None) as info:
        parse_latent_spec(text)
    assert fragment in str(info.value)
