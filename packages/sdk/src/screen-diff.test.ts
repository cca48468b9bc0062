import { describe, expect, it } from "vitest";

import { emptyCursor, nextOutput } from "./screen-diff";

/** Feeds captures in order and answers the text each one printed. */
function follow(captures: string[], finalLast = false): string[] {
  let cursor = emptyCursor();
  return captures.map((capture, i) => {
    const next = nextOutput(cursor, capture, finalLast && i === captures.length - 1);
    cursor = next.cursor;
    return next.text;
  });
}

describe("nextOutput", () => {
  it("prints each complete line once as the pane grows", () => {
    expect(follow(["$ echo hi\nhi\n$ ", "$ echo hi\nhi\n$ ls\na b\n$ "])).toEqual(["$ echo hi\nhi\n", "$ ls\na b\n"]);
  });

  it("holds a line back while it may still be written, and prints it with the final capture", () => {
    expect(follow(["progress 10%", "progress 90%", "progress done"], true)).toEqual(["", "", "progress done\n"]);
  });

  it("prints only the new lines after older ones scrolled off the top", () => {
    expect(follow(["1\n2\n3\n4\n", "3\n4\n5\n6\n"])).toEqual(["1\n2\n3\n", "4\n5\n"]);
  });

  it("ignores the blank rows below an idle screen", () => {
    expect(follow(["a\nb\n\n\n\n", "a\nb\nc\n\n\n"])).toEqual(["a\n", "b\n"]);
  });

  it("prints repeated identical lines as often as they appear", () => {
    expect(follow(["x\nx\n", "x\nx\nx\nx\n"])).toEqual(["x\n", "x\nx\n"]);
  });
});
