const steps = process.argv.slice(2);
let out = [];
for (const s of steps) { const t = performance.now(); await import(s); out.push(`${s.replace('../dist/','')} ${(performance.now() - t).toFixed(1)}`); }
console.log(out.join(' | '));
