from domain.books.metadata import difficulty_level, reading_time_minutes


def test_reading_time_at_250_words_a_minute() -> None:
    assert reading_time_minutes(0) == 0
    assert reading_time_minutes(1) == 1
    assert reading_time_minutes(250) == 1
    assert reading_time_minutes(251) == 2
    assert reading_time_minutes(125_000) == 500


def test_difficulty_orders_plain_and_dense_prose() -> None:
    plain = "The cat sat on the mat. The dog ran to the cat. " * 30
    dense = (
        "Epistemological considerations notwithstanding, institutional heterogeneity "
        "substantially complicates comparative organizational evaluation methodologies. "
    ) * 30
    easy, hard = difficulty_level(plain), difficulty_level(dense)
    assert easy is not None and hard is not None
    assert 1 <= easy < hard <= 10
    assert difficulty_level("too short") is None
