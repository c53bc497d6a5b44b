"""Answer sets for tests (fake data)."""

PHQ9_ITEM9 = [1, 1, 1, 1, 0, 0, 0, 0, 1]  # total 5, item 9 positive
PHQ9_CLEAN = [1, 1, 1, 1, 1, 1, 1, 0, 0]  # total 7, no flag
GAD7 = [1, 1, 1, 1, 1, 1, 1]  # total 7
CSSRS_NONE = [False, False, None, None, None, False, None]
CSSRS_MODERATE = [True, True, True, False, False, False, None]
CSSRS_HIGH = [True, True, True, True, False, False, None]
BAM = [0, 1, 1, 0, None, 0, *([None] * 7), 1, 3, 2, 0, 2, 3, 4, 1, 3, 2]


def phq9_post(values, **extra):
    data = {f"item_{n}": str(v) for n, v in enumerate(values, start=1)}
    data.update({"context": "weekly", **extra})
    return data


def cssrs_post(values, **extra):
    names = ["item_1", "item_2", "item_3", "item_4", "item_5", "item_6", "item_6_recent"]
    data = {name: ("" if v is None else "yes" if v else "no") for name, v in zip(names, values, strict=True)}
    data.update({"context": "ad_hoc", **extra})
    return data
