import assert from "node:assert/strict";
import { CronError, parseCron } from "../src/services/cron";

const at = (iso: string) => new Date(iso);
const iso = (d: Date | null) => d?.toISOString() ?? null;

describe("cron schedules (UTC period boundaries)", () => {
  it("daily at midnight: the boundary at or before, and the next one", () => {
    const daily = parseCron("0 0 * * *");
    assert.equal(iso(daily.previous(at("2026-12-01T16:42:10Z"))), "2026-12-01T00:00:00.000Z");
    assert.equal(iso(daily.next(at("2026-12-01T16:42:10Z"))), "2026-12-02T00:00:00.000Z");
    assert.equal(
      iso(daily.previous(at("2026-12-01T00:00:00Z"))),
      "2026-12-01T00:00:00.000Z",
      "a boundary is its own start",
    );
    assert.equal(iso(daily.next(at("2026-12-01T00:00:00Z"))), "2026-12-02T00:00:00.000Z");
    assert.equal(iso(daily.previous(at("2026-11-30T23:59:59.999Z"))), "2026-11-30T00:00:00.000Z");
  });

  it("weekly on Monday, across a month and a year end", () => {
    const weekly = parseCron("0 0 * * 1");
    // 2026-12-31 is a Thursday; 2026-12-28 and 2027-01-04 are Mondays.
    assert.equal(iso(weekly.previous(at("2026-12-31T12:00:00Z"))), "2026-12-28T00:00:00.000Z");
    assert.equal(iso(weekly.next(at("2026-12-31T12:00:00Z"))), "2027-01-04T00:00:00.000Z");
    assert.equal(iso(parseCron("0 0 * * 7").previous(at("2026-12-31T12:00:00Z"))), "2026-12-27T00:00:00.000Z");
  });

  it("steps, ranges and lists in minute and hour", () => {
    const quarter = parseCron("*/15 9-17 * * *");
    assert.equal(iso(quarter.previous(at("2026-03-10T12:44:59Z"))), "2026-03-10T12:30:00.000Z");
    assert.equal(iso(quarter.next(at("2026-03-10T17:45:00Z"))), "2026-03-11T09:00:00.000Z");
    assert.equal(iso(quarter.previous(at("2026-03-10T08:00:00Z"))), "2026-03-09T17:45:00.000Z");
    const listed = parseCron("5,35 1,13 * * *");
    assert.equal(iso(listed.next(at("2026-03-10T01:35:00Z"))), "2026-03-10T13:05:00.000Z");
    assert.equal(iso(parseCron("10-20/5 * * * *").next(at("2026-03-10T01:20:00Z"))), "2026-03-10T02:10:00.000Z");
  });

  it("day of month and month; both day fields restricted means either one", () => {
    const firstOfQuarter = parseCron("0 0 1 1,4,7,10 *");
    assert.equal(iso(firstOfQuarter.previous(at("2026-06-15T00:00:00Z"))), "2026-04-01T00:00:00.000Z");
    assert.equal(iso(firstOfQuarter.next(at("2026-06-15T00:00:00Z"))), "2026-07-01T00:00:00.000Z");
    // The 15th or any Friday: 2026-03-13 is a Friday, then the 15th (a Sunday).
    const either = parseCron("0 0 15 * 5");
    assert.equal(iso(either.next(at("2026-03-12T00:00:00Z"))), "2026-03-13T00:00:00.000Z");
    assert.equal(iso(either.next(at("2026-03-13T00:00:00Z"))), "2026-03-15T00:00:00.000Z");
    // `*/2` in day-of-week is still a star: the day-of-month alone decides (Vixie cron).
    assert.equal(iso(parseCron("0 0 15 * */2").next(at("2026-03-12T00:00:00Z"))), "2026-03-15T00:00:00.000Z");
    assert.equal(iso(parseCron("0 0 29 2 *").next(at("2026-03-01T00:00:00Z"))), "2028-02-29T00:00:00.000Z");
  });

  it("rejects malformed schedules", () => {
    for (const bad of [
      "",
      "0 0 * *",
      "0 0 * * * *",
      "60 0 * * *",
      "0 24 * * *",
      "0 0 0 * *",
      "0 0 * 13 *",
      "0 0 * * 8",
      "5-1 * * * *",
      "*/0 * * * *",
      "0 0 * * MON",
      "0 0 31 2 *",
      "a b c d e",
    ]) {
      assert.throws(() => parseCron(bad), CronError, bad);
    }
  });
});
