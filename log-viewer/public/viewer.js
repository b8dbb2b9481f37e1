// The log viewer's page script (served as /logs/viewer.js: the CSP allows no inline script).
(() => {
  const API = 'api';
  const MAX_ROWS = 2000;
  const form = document.getElementById('filters');
  const rows = document.getElementById('rows');
  const status = document.getElementById('status');
  const pauseButton = document.getElementById('pause');
  const serviceSelect = form.elements.service;
  let source = null;
  let paused = false;
  let queued = [];
  // Each load supersedes the one before: a slow answer to an older filter never replaces a newer one.
  let generation = 0;

  function filtersFromUrl() {
    const params = new URLSearchParams(location.search);
    for (const name of ['service', 'level', 'q']) {
      const value = params.get(name) || '';
      if (name === 'service' && value && ![...serviceSelect.options].some((o) => o.value === value)) {
        serviceSelect.add(new Option(value, value));
      }
      form.elements[name].value = value;
    }
  }

  function currentQuery() {
    const params = new URLSearchParams();
    for (const name of ['service', 'level', 'q']) {
      const value = form.elements[name].value.trim();
      if (value) {
        params.set(name, value);
      }
    }
    return params;
  }

  function render(entry) {
    const tr = document.createElement('tr');
    tr.className = entry.level;
    const d = entry.data || {};
    const ctx = ['roomId', 'peerId', 'correlationId']
      .filter((k) => d[k])
      .map((k) => `${k}=${d[k]}`)
      .join(' ');
    const time = (entry.time || '').replace('T', ' ').replace('Z', '');
    tr.innerHTML =
      '<td class="time"></td><td class="svc"></td><td class="level"></td><td class="msg"><details><summary></summary><pre></pre></details></td>';
    tr.children[0].textContent = time;
    tr.children[1].textContent = entry.service;
    tr.children[2].textContent = entry.level;
    const summary = tr.querySelector('summary');
    summary.textContent = entry.msg || '(no message)';
    if (ctx) {
      const span = document.createElement('span');
      span.className = 'ctx';
      span.textContent = ctx;
      summary.append(span);
    }
    tr.querySelector('pre').textContent = JSON.stringify(d, null, 2);
    return tr;
  }

  function prepend(entries) {
    const fragment = document.createDocumentFragment();
    for (const entry of entries) {
      fragment.append(render(entry));
    }
    rows.prepend(fragment);
    while (rows.children.length > MAX_ROWS) {
      rows.lastChild.remove();
    }
  }

  function setServices(services) {
    for (const service of services) {
      if (![...serviceSelect.options].some((o) => o.value === service)) {
        serviceSelect.add(new Option(service, service));
      }
    }
  }

  async function load() {
    const current = ++generation;
    const params = currentQuery();
    history.replaceState(null, '', params.toString() ? `?${params}` : location.pathname);
    if (source) {
      source.close();
    }
    status.textContent = 'loading…';
    params.set('limit', '500');
    const response = await fetch(`${API}/search?${params}`);
    const body = await response.json();
    if (current !== generation) {
      return;
    }
    if (!response.ok) {
      status.textContent = body.message;
      return;
    }
    setServices(body.services);
    rows.replaceChildren();
    // newest first, the order the table shows
    prepend(body.entries);
    params.delete('limit');
    source = new EventSource(`${API}/stream?${params}`);
    source.onopen = () => {
      status.textContent = `live · ${rows.children.length} shown`;
    };
    source.onerror = () => {
      status.textContent = 'reconnecting…';
    };
    // A busy deployment logs hundreds of lines a second: they are drawn in batches,
    // at most ten times a second, so the page (and its filters) stays responsive.
    let pending = [];
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      if (current !== generation) {
        return;
      }
      const batch = pending;
      pending = [];
      setServices([...new Set(batch.map((entry) => entry.service))]);
      if (paused) {
        queued.push(...batch);
        status.textContent = `paused · ${queued.length} new`;
        return;
      }
      // newest first, the order the table shows
      prepend(batch.reverse());
      status.textContent = `live · ${rows.children.length} shown`;
    };
    source.onmessage = (event) => {
      pending.push(JSON.parse(event.data));
      if (!scheduled) {
        scheduled = true;
        setTimeout(flush, 100);
      }
    };
  }

  let timer;
  form.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(load, 250);
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load();
  });
  pauseButton.addEventListener('click', () => {
    paused = !paused;
    pauseButton.setAttribute('aria-pressed', String(paused));
    pauseButton.textContent = paused ? 'Resume' : 'Pause';
    if (!paused) {
      prepend(queued.slice().reverse());
      queued = [];
    }
  });
  window.addEventListener('popstate', () => {
    filtersFromUrl();
    load();
  });
  filtersFromUrl();
  load();
})();
