"""The JavaScript the browser tests run inside JupyterLab's page.

``window.jupyterapp`` exists because the server runs with ``--LabApp.expose_app_in_browser``.
"""

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in view

# Install a hook on the current notebook's kernel status (window.jupyterapp is exposed by the
# server flag --LabApp.expose_app_in_browser).
STATUS_HOOK_JS = r"""() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const ctx = panel.sessionContext;
  const state = {busyCount: 0, lastChange: performance.now(),
                 status: ctx.session && ctx.session.kernel ? ctx.session.kernel.status : 'unknown'};
  // every traceback the kernel sends, whether or not an Output widget or a cell shows it
  // (an exception in a callback outside `with out:` only reaches JupyterLab's log console)
  state.errors = [];
  ctx.iopubMessage.connect((_, msg) => {
    const c = msg.content || {};
    if (msg.header.msg_type === 'error') {
      state.errors.push(`${c.ename}: ${c.evalue}\n` + (c.traceback || []).join('\n'));
    } else if (msg.header.msg_type === 'stream' && c.name === 'stderr'
               && /Traceback|Exception in/.test(c.text)) {
      state.errors.push(c.text);
    }
  });
  ctx.statusChanged.connect((_, status) => {
    state.status = status;
    state.lastChange = performance.now();
    if (status === 'busy') state.busyCount += 1;
  });
  window.__seqlab = state;
  return state.status;
}"""

# true once the kernel has gone busy after `since` (or `grace` ms passed without that) and has
# then been idle for `quiet` ms.
SETTLED_JS = r"""([since, t0, quiet, grace]) => {
  const s = window.__seqlab, now = performance.now();
  return s.status === 'idle' && now - s.lastChange >= quiet
         && (s.busyCount > since || now - t0 >= grace);
}"""

RUN_ALL_DONE_JS = r"""([since, quiet]) => {
  const s = window.__seqlab, now = performance.now();
  const panel = document.querySelector('""" + PANEL + r"""');
  const prompts = Array.from(panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt'));
  const pending = prompts.filter(p => p.textContent.includes('*')).length;
  return s.busyCount > since && pending === 0 && s.status === 'idle' && now - s.lastChange >= quiet;
}"""

# Tag every UI and control with data attributes so Playwright can address them, and describe
# them. A control belongs to the innermost .seqlab-ui around it; controls inside an Output
# widget are content, not controls.
SCAN_JS = r"""() => {
  const panel = document.querySelector('""" + PANEL + r"""');
  const KINDS = [
    ['slider', '.widget-slider'], ['dropdown', '.widget-dropdown'],
    ['select', '.widget-select, .widget-select-multiple'],
    ['toggle-buttons', '.widget-toggle-buttons'], ['radio', '.widget-radio'],
    ['checkbox', '.widget-checkbox'], ['toggle-button', '.widget-toggle-button'],
    ['number', '.widget-text:has(input[type=number])'],
    ['button', 'button.widget-button'],
  ];
  const INTERACTIVE = 'input, select, textarea, button, [role=slider], [contenteditable=true]';
  const inOutput = (el, ui) => { const o = el.parentElement && el.parentElement.closest('.widget-output');
                                 return o !== null && ui.contains(o); };
  const clean = t => (t || '').replace(/[\u200b\s]+/g, ' ').trim();
  const labelOf = (el, kind, j) => {
    const l = el.querySelector(':scope > .widget-label');
    const text = clean(l && l.textContent) || clean(el.getAttribute('title'))
                 || clean(el.textContent).slice(0, 40);
    return text ? `${kind} '${text}'` : `${kind} #${j + 1}`;
  };
  const uis = Array.from(panel.querySelectorAll('.seqlab-ui'));
  const result = {uis: [], stray: []};
  uis.forEach((ui, i) => {
    ui.setAttribute('data-seqlab-ui', String(i));
    const owned = el => el.closest('.seqlab-ui') === ui && !inOutput(el, ui);
    const controls = [], claimed = new Set();
    const runButtons = Array.from(ui.querySelectorAll('.seqlab-run')).filter(owned);
    runButtons.forEach(b => b.setAttribute('data-seqlab-run', String(i)));
    for (const [kind, selector] of KINDS) {
      for (const el of ui.querySelectorAll(selector)) {
        if (!owned(el) || el.classList.contains('seqlab-run')) continue;
        if (Array.from(claimed).some(c => c.contains(el))) continue;  // e.g. a button of toggle-buttons
        claimed.add(el);
        controls.push({el, kind});
      }
    }
    const described = controls.map(({el, kind}, j) => {
      const id = `${i}.${j}`;
      el.setAttribute('data-seqlab-control', id);
      const noLive = el.closest('.seqlab-no-live') !== null && ui.contains(el.closest('.seqlab-no-live'));
      return {id, kind, label: labelOf(el, kind, j), noLive,
              visible: el.getClientRects().length > 0};
    });
    const unsupported = Array.from(ui.querySelectorAll(INTERACTIVE))
      .filter(el => owned(el) && !el.closest('.seqlab-run')
              && !Array.from(claimed).some(c => c.contains(el)) && !el.closest('.widget-readout'))
      .map(el => (el.closest('.jupyter-widgets') || el).className.replace(/lm-Widget|jupyter-widgets/g, '').trim());
    // descriptions cut short by their width (CSS ellipsis): the student reads "hidden / d_mo..."
    const truncated = Array.from(ui.querySelectorAll('.widget-label, .widget-label-basic'))
      .filter(el => owned(el) && el.getClientRects().length > 0 && el.scrollWidth > el.clientWidth + 1)
      .map(el => clean(el.textContent));
    result.uis.push({index: i, controls: described, unsupported, truncated, runButtons: runButtons.length,
                     visible: ui.getClientRects().length > 0 && ui.offsetHeight > 0});
  });
  for (const el of panel.querySelectorAll('.jp-OutputArea-output .jupyter-widgets')) {
    if (el.closest('.seqlab-ui')) continue;
    if (el.matches(KINDS.map(k => k[1]).join(', '))) {
      result.stray.push(el.className.replace(/lm-Widget|jupyter-widgets/g, '').trim());
    }
  }
  return result;
}"""

# What a UI shows, minus its controls: the HTML of a copy with every control removed.
OUTPUT_OF_UI_JS = r"""(i) => {
  const ui = document.querySelector(`[data-seqlab-ui="${i}"]`);
  if (!ui) return null;
  const copy = ui.cloneNode(true);
  copy.querySelectorAll('[data-seqlab-control], [data-seqlab-run]').forEach(el => el.remove());
  copy.querySelectorAll('.seqlab-ui').forEach(el => el.remove());  // nested UIs are checked alone
  copy.querySelectorAll('.seqlab-volatile').forEach(el => el.remove());  // e.g. a timing Label
  // layout left-overs are not output: JupyterLab pins an output area's height during
  // clear_output(wait=True) and leaves style="" behind
  copy.querySelectorAll('.jp-OutputArea, .jp-OutputArea-child, .widget-output')
      .forEach(el => el.removeAttribute('style'));
  copy.querySelectorAll('[style=""]').forEach(el => el.removeAttribute('style'));
  return copy.innerHTML;
}"""

ERRORS_IN_UI_JS = r"""(i) => {
  const ui = document.querySelector(`[data-seqlab-ui="${i}"]`);
  const texts = Array.from(ui.querySelectorAll(
    '.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"], .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'));
  return texts.map(t => t.textContent).filter(t => /Traceback|Error/.test(t));
}"""

# widgets that JupyterLab could not render show an error text, or their plain-text repr.
WIDGET_RENDER_ERRORS_JS = r"""() => {
  const panel = document.querySelector('""" + PANEL + r"""');
  const bad = [];
  for (const out of panel.querySelectorAll('.jp-OutputArea-output')) {
    const text = out.textContent || '';
    if (/Error (displaying|rendering) widget|Failed to (load|render) (widget|model)/i.test(text)
        || (out.getAttribute('data-mime-type') === 'text/plain' && /^\s*(VBox|HBox|Box|GridBox|Tab|Accordion|Output)\(children=/.test(text))) {
      bad.push(text.trim().slice(0, 300));
    }
  }
  return bad;
}"""

CLOSE_ALL_JS = r"""() => {
  if (typeof window.jupyterapp !== 'object' || document.querySelector('.jp-Dialog')) return false;
  for (const widget of Array.from(window.jupyterapp.shell.widgets('main'))) {
    if (widget.context && widget.context.model) widget.context.model.dirty = false;  // no prompt
    widget.dispose();
  }
  return true;
}"""
