// Temperatures as text. Two kinds, never mixed up:
//   - data (`data-celsius`, the CSV): the exact number the API gave, sign included. The API keeps
//     -0.0 apart from 0.0 (JSON and protobuf carry the sign), so must every copy of it here;
//     `String(-0)` is "0", hence celsiusText.
//   - display (the list, the chips, the chart's legend, the table cell): rounded for the eye.
//
// What a reader expects on display: a reading whose sign is negative shows a minus, even when it
// rounds to zero. -0.004 °C shows "-0.00 °C" (honest: it was below zero, just barely), and an exact
// -0.0 shows "-0.00 °C" the same way, everywhere, while +0.0 and +0.004 show "0.00 °C". (JS's
// toFixed writes -0.004 as "-0.00" but -0 as "0.00"; the one rule above replaces that quirk.)

/** The exact text of a temperature as data: shortest round-trip form, -0 kept as "-0". */
export function celsiusText(celsius: number): string {
  return Object.is(celsius, -0) ? "-0" : String(celsius);
}

/** Two decimals with a minus whenever the value is negative, -0 included (see above). */
export function fixed2(celsius: number): string {
  const text = celsius.toFixed(2);
  return Object.is(celsius, -0) ? `-${text}` : text;
}

/** A temperature for reading at a glance, in a column: always two decimals and the unit. */
export function formatCelsius(celsius: number): string {
  return `${fixed2(celsius)} °C`;
}

/** The table's cell: two decimals, lined up, unless that would hide a digit the API gave. */
export function exact2(celsius: number): string {
  const text = fixed2(celsius);
  return Number(text) === celsius ? text : celsiusText(celsius);
}
