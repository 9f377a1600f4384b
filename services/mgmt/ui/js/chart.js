// A small line chart on <canvas>: rates derived from successive samples of
// cumulative counters, redrawn on every new sample. No library.
const PAD = { left: 56, right: 12, top: 12, bottom: 24 };
const TICKS = 5;  // with maxima of 1, 2 or 5 times a power of ten, every step is round

// samples: [{ t: ms, values: { key: counter } }]; series: [{ key, label, color }]
export function ratesFrom(samples, series) {
  const out = [];
  for (let i = 1; i < samples.length; i += 1) {
    const dt = (samples[i].t - samples[i - 1].t) / 1000;
    if (dt <= 0) continue;
    const point = { t: samples[i].t };
    for (const s of series) {
      const d = (samples[i].values[s.key] ?? 0) - (samples[i - 1].values[s.key] ?? 0);
      point[s.key] = Math.max(0, d / dt);  // a counter that went back (restart) counts as 0
    }
    out.push(point);
  }
  return out;
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v);
}

function clock(t) {
  return new Date(t).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function drawChart(canvas, points, series) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const hgt = canvas.clientHeight;
  canvas.width = w * dpr;
  canvas.height = hgt * dpr;
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, hgt);
  g.font = '11px system-ui, sans-serif';
  const plotW = w - PAD.left - PAD.right;
  const plotH = hgt - PAD.top - PAD.bottom;
  const max = niceMax(Math.max(0, ...points.flatMap((p) => series.map((s) => p[s.key]))));

  g.strokeStyle = '#e5e8ee';
  g.fillStyle = '#6b7385';
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (let i = 0; i <= TICKS; i += 1) {
    const y = PAD.top + plotH - (plotH * i) / TICKS;
    g.beginPath(); g.moveTo(PAD.left, y); g.lineTo(PAD.left + plotW, y); g.stroke();
    const v = (max * i) / TICKS;
    g.fillText(`${Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(1)}/s`, PAD.left - 6, y);
  }
  if (points.length < 2) {
    g.textAlign = 'center';
    g.fillText('Collecting samples…', PAD.left + plotW / 2, PAD.top + plotH / 2);
    return;
  }
  const t0 = points[0].t;
  const span = points[points.length - 1].t - t0 || 1;
  const x = (t) => PAD.left + ((t - t0) / span) * plotW;
  const y = (v) => PAD.top + plotH - (v / max) * plotH;
  g.textAlign = 'center';
  g.textBaseline = 'top';
  g.fillText(clock(t0), PAD.left + 24, PAD.top + plotH + 6);
  g.fillText(clock(points[points.length - 1].t), PAD.left + plotW - 24, PAD.top + plotH + 6);
  g.lineWidth = 2;
  g.lineJoin = 'round';
  for (const s of series) {
    g.strokeStyle = s.color;
    g.beginPath();
    points.forEach((p, i) => (i ? g.lineTo(x(p.t), y(p[s.key])) : g.moveTo(x(p.t), y(p[s.key]))));
    g.stroke();
  }
}
