// What the first-request timelines share (first-request.mjs in workerd, deno-first.mjs in Deno): marks
// numbered by occurrence, and medians over fresh instances printed call by call. Plain JS, no imports:
// Node and Deno both load it.

/// `[label, ms]` marks with repeated labels numbered in order (importKey, importKey 2, …), so that the
/// same call lines up across runs.
export function numbered(events) {
  const seen = new Map();
  return events.map(([label, ms]) => {
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    return [n === 1 ? label : `${label} ${n}`, ms];
  });
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

/// Prints, for each label of the first run in order, its median time over `runs` (each a numbered
/// timeline) and the step from the line before, with `digits` decimals.
export function printTimeline(heading, runs, digits) {
  console.log(heading);
  let previous = 0;
  for (const [label] of runs[0]) {
    const at = median(runs.map((events) => events.find(([l]) => l === label)?.[1] ?? NaN).filter((ms) => !Number.isNaN(ms)));
    console.log(`${at.toFixed(digits).padStart(5 + digits)}  (+${(at - previous).toFixed(digits).padStart(3 + digits)})  ${label}`);
    previous = at;
  }
}
