// timers.js: polling that lasts as long as the page shown.
let timers = [];

// every runs fn each ms until the page changes.
export function every(ms, fn) { timers.push(setInterval(fn, ms)); }

// stopAll ends the polling of the page left.
export function stopAll() { timers.forEach(clearInterval); timers = []; }
