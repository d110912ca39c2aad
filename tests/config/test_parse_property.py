"""Our node walk builds exactly what PyYAML's SafeLoader builds, and positions every path."""

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.config.parse import parse_yaml

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(st.characters(blacklist_characters="$", blacklist_categories=("Cs",)))
)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, prefix + (index,))


@settings(max_examples=50, deadline=None)
@given(documents, st.booleans())
def test_same_data_as_safe_load_and_every_path_positioned(document, flow):
    text = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True)
    parsed = parse_yaml(text, "doc.yaml")
    assert parsed.issues == []
    assert parsed.data == yaml.safe_load(text)
    assert set(paths(parsed.data)) == set(parsed.positions)
