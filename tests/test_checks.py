import pytest

from lda_tf.checks import check_choice


def test_check_choice_returns_an_allowed_value():
    assert check_choice("huber", ("sqrt", "huber"), "smoothing") == "huber"


def test_check_choice_names_argument_choices_and_value():
    with pytest.raises(ValueError, match=r"argument `smoothing` must be one of 'sqrt', 'huber'; got 'l1'"):
        check_choice("l1", ("sqrt", "huber"), "smoothing")
