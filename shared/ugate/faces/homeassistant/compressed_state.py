"""Home Assistant's compressed states, the format of the WebSocket command
`subscribe_entities`: first `{"a": {entity_id: compressed state}}`, then per
change `{"c": {entity_id: diff}}` or `{"r": [entity_id]}`. Short keys (`s`
state, `a` attributes, `c` context, `lc`/`lu` times as epoch floats) keep
the messages small."""
from ugate.base import dates, jsonstream
from ugate.base.compat import OrderedDict


def compressed_context(context):
    """The context id alone when that is all it holds, else the whole dict."""
    if context.parent_id is None and context.user_id is None:
        return context.id
    return context.as_dict()


def compressed_state(state):
    d = OrderedDict()
    d["s"] = state.state
    d["a"] = state.attributes
    d["c"] = compressed_context(state.context)
    d["lc"] = dates.epoch_float(state.last_changed)
    if state.last_updated != state.last_changed:
        d["lu"] = dates.epoch_float(state.last_updated)
    return d


def state_diff(old, new, state):
    """What changed from `old` to `new` (the state dicts of a state_changed
    event) as `{"+": {...}, "-": {"a": [removed attributes]}}`; `state` is the
    live State, whose times are not rounded through ISO text."""
    plus = OrderedDict()
    if old["state"] != new["state"]:
        plus["s"] = new["state"]
    if old["last_changed"] != new["last_changed"]:
        plus["lc"] = dates.epoch_float(state.last_changed)
    elif old["last_updated"] != new["last_updated"]:
        plus["lu"] = dates.epoch_float(state.last_updated)
    old_ctx, new_ctx = old["context"], new["context"]
    ctx = OrderedDict()
    for key in ("parent_id", "user_id"):
        if old_ctx[key] != new_ctx[key]:
            ctx[key] = new_ctx[key]
    if ctx:
        if old_ctx["id"] != new_ctx["id"]:
            ctx["id"] = new_ctx["id"]
        plus["c"] = ctx
    elif old_ctx["id"] != new_ctx["id"]:
        plus["c"] = new_ctx["id"]
    old_attrs, new_attrs = old["attributes"], new["attributes"]
    for key, value in new_attrs.items():
        if key not in old_attrs or old_attrs[key] != value:
            plus.setdefault("a", OrderedDict())[key] = value
    diff = OrderedDict()
    diff["+"] = plus
    removed = [key for key in old_attrs if key not in new_attrs]
    if removed:
        diff["-"] = {"a": removed}
    return diff


def entities_event(hub, data):
    """A state_changed event's data as a compressed entities event, or None
    when the state is no longer there (changed again inside the event)."""
    entity_id = data["entity_id"]
    if data["new_state"] is None:
        return {"r": [entity_id]}
    state = hub.states.get(entity_id)
    if state is None:
        return None
    if data["old_state"] is None:
        return {"a": {entity_id: compressed_state(state)}}
    return {"c": {entity_id: state_diff(data["old_state"], data["new_state"], state)}}


def added(states):
    """`{"a": {entity_id: compressed state, ...}}` as pieces."""
    yield '{"a": '
    yield from jsonstream.members((s.entity_id, compressed_state(s)) for s in states)
    yield "}"
