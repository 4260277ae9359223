// The prompt's `<lora:name:weight>` tags (src/features/loras/lora-tags.ts), read as the worker reads them.
import { expect, test } from "@playwright/test";

import { parseLoraTags } from "../src/features/loras/lora-tags";

const named = (prompt: string) => parseLoraTags(prompt).map(({ name, weight }) => ({ name, weight }));

test("a tag gives its name and weight, where it is and how it was typed", () => {
  expect(parseLoraTags("a cat, <lora:ink:0.8>, dog")).toEqual([
    { name: "ink", weight: 0.8, text: "<lora:ink:0.8>", index: 7 },
  ]);
});

test("a tag without a weight weighs 1", () => {
  expect(named("<lora:ink>")).toEqual([{ name: "ink", weight: 1 }]);
});

test("several tags in the order written, repeats kept; lyco is lora; names with folders, spaces and dots", () => {
  expect(named("<lora:style/ink:0.5> cat <lyco:my lora v1.2:-1.5> <lora:style/ink> <lora:b:1e-1> <lora:c:-.5>")).toEqual([
    { name: "style/ink", weight: 0.5 },
    { name: "my lora v1.2", weight: -1.5 },
    { name: "style/ink", weight: 1 },
    { name: "b", weight: 0.1 },
    { name: "c", weight: -0.5 },
  ]);
});

test("te= names the weight; a UNet weight equal to it is fine, other named arguments are ignored", () => {
  expect(named("<lora:a:te=0.3> <lora:b:0.7:0.7> <lora:c:0.2:unet=0.2> <lora:d:0.4:foo=bar>")).toEqual([
    { name: "a", weight: 0.3 },
    { name: "b", weight: 0.7 },
    { name: "c", weight: 0.2 },
    { name: "d", weight: 0.4 },
  ]);
});

test("malformed tags are ignored: no name, a weight that is not a number, dyn=, separate UNet weights, open tags", () => {
  const prompt = [
    "<lora::1>",
    "<lora:a:heavy>",
    "<lora:b:>",
    "<lora:c:1:dyn=4>",
    "<lora:d:0.5:1>",
    "<lora:e:1:1:1:1>",
    "<lora:f:0x10>",
    "<lora:g:inf>",
    "<lora:unclosed",
    "<lora:>",
    "lora:h:1",
    "<hypernet:x:1>",
    "<LORA:i:1>",
  ].join(" ");
  expect(parseLoraTags(prompt)).toEqual([]);
  expect(parseLoraTags("")).toEqual([]);
  expect(named("<lora:bad:x> and <lora:good:2>")).toEqual([{ name: "good", weight: 2 }]);
});
