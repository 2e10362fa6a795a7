"""Move one ipywidgets control the way a student does: keys on a slider, a mouse drag, a new
dropdown option, a click. Each function returns what it did, or None if there was no other
value to go to.
"""

from __future__ import annotations


def drag_slider(page, element) -> str | None:
    """Drag a slider's handle a quarter of the track with the mouse, as a student does
    (a live slider sends a value at every step of the drag)."""
    handle = element.locator(".noUi-handle").last
    track = element.locator(".noUi-base").bounding_box()
    box = handle.bounding_box()
    if not track or not box:
        return None
    readout = element.locator(".widget-readout")
    before = readout.first.text_content() if readout.count() else handle.get_attribute("aria-valuetext")
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    room_right = track["x"] + track["width"] - x
    target = x + 0.25 * track["width"] * (1 if room_right > track["width"] / 2 else -1)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(target, y, steps=12)
    page.mouse.up()
    after = readout.first.text_content() if readout.count() else handle.get_attribute("aria-valuetext")
    return None if after == before else f"mouse drag {before} -> {after}"


def move_control(kind: str, element) -> str | None:
    """Move one control to another value; returns a description, or None if it cannot."""
    if kind == "slider":
        handle = element.locator(".noUi-handle").last  # the upper handle of a range slider
        readout = element.locator(".widget-readout")

        def position() -> str:  # aria-valuenow alone is rounded to one decimal by noUiSlider
            shown = readout.first.text_content() if readout.count() else ""
            return f"{shown or handle.get_attribute('aria-valuetext')}"

        value = position()
        handle.focus()
        # at the maximum ArrowRight does not move the handle (and sends nothing): go left
        for key in ("ArrowRight", "ArrowLeft", "PageUp", "PageDown"):
            handle.press(key)
            new = position()
            if new != value:
                return f"slider {value} -> {new} ({key})"
        return None
    if kind in ("dropdown", "select"):
        select = element.locator("select")
        options = select.locator("option").all_text_contents()
        if len(options) < 2:
            return None
        current = select.evaluate("s => s.selectedIndex")
        target = (current + 1) % len(options)
        select.select_option(index=target)
        return f"selected {options[target]!r} (was {options[current] if current >= 0 else None!r})"
    if kind == "toggle-buttons":
        buttons = element.locator("button")
        count = buttons.count()
        if count < 2:
            return None
        active = next((b for b in range(count)
                       if "mod-active" in (buttons.nth(b).get_attribute("class") or "")), -1)
        target = (active + 1) % count
        buttons.nth(target).click()
        return f"clicked {buttons.nth(target).inner_text()!r}"
    if kind == "radio":
        radios = element.locator("input[type=radio]")
        count = radios.count()
        if count < 2:
            return None
        checked = next((r for r in range(count) if radios.nth(r).is_checked()), -1)
        target = (checked + 1) % count
        radios.nth(target).click()
        return f"picked radio option {target + 1} of {count}"
    if kind == "checkbox":
        box = element.locator("input[type=checkbox]")
        box.click()
        return f"checkbox now {'on' if box.is_checked() else 'off'}"
    if kind in ("toggle-button", "button"):
        element.click()
        return f"clicked {element.inner_text().strip()!r}"
    if kind == "number":
        field_ = element.locator("input[type=number]")
        value = field_.input_value()
        field_.focus()
        field_.press("ArrowUp")
        if field_.input_value() == value:
            field_.press("ArrowDown")
        field_.press("Enter")
        new = field_.input_value()
        return None if new == value else f"number {value} -> {new}"
    raise ValueError(f"unknown control kind {kind!r}")


def control_value(kind: str, element) -> str | int | None:
    """What a control shows now, to put it back later (None: the kind is not restorable)."""
    if kind == "slider":
        readout = element.locator(".widget-readout")
        handle = element.locator(".noUi-handle").last
        return (readout.first.text_content() if readout.count() else "") or handle.get_attribute("aria-valuetext")
    if kind in ("dropdown", "select"):
        return element.locator("select").evaluate("s => s.selectedIndex")
    return None


def restore_control(kind: str, element, original) -> str | None:
    """Move a control back to ``original`` (from control_value): a second move that also leaves
    the UI as it was, so that later controls are moved from the UI's default state."""
    if kind in ("dropdown", "select"):
        select = element.locator("select")
        select.select_option(index=original)
        return f"selected {select.locator('option').nth(original).text_content()!r} again (back to the start)"
    if kind == "slider":
        handle = element.locator(".noUi-handle").last
        handle.focus()
        for key in ("ArrowLeft", "ArrowRight"):
            for _ in range(3):  # a move_control step is one key press
                if control_value(kind, element) == original:
                    return f"slider back to {original} ({key})"
                handle.press(key)
        return f"slider back to {original}" if control_value(kind, element) == original else None
    return move_control(kind, element)  # checkbox, toggles, radio: another click
