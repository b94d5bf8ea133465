"""YAML as the tools that read our files treat it: a duplicate key is an error (Compose refuses
it; Envoy and PyYAML would silently keep the last one). Shared by the offline checks."""
import yaml


class Invalid(Exception):
    """What a check found wrong; its message is printed as `INVALID PATH: message`."""


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys instead of keeping the last one."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`, resolved by PyYAML
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise Invalid(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
        seen.add(key)
    return loader.construct_mapping(node, deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path):
    """The document at `path`, or Invalid saying why it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.load(f, Loader=UniqueKeyLoader)
    except OSError as e:
        raise Invalid(f"cannot read {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise Invalid(f"YAML: {e}".replace("\n", " ")) from None
