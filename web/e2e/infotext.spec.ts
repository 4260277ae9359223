// A1111 parameters (infotext) on the real stack: an api answer dropped or pasted onto the page fills the form, and
// Copy parameters puts the shown image's infotext on the clipboard.
import type { Page } from "@playwright/test";

import { readServerSentEvents } from "../src/api/sse";
import { pngText } from "../src/features/infotext/png-text";
import { expect, test } from "./fixtures";
import { apiUrl } from "./stack";

const LIGHTHOUSE = {
  positivePrompt: "a lighthouse at dusk",
  negativePrompt: "blurry, low quality",
  width: 72,
  height: 64,
  steps: 3,
  guidanceScale: 6.5,
  seed: 4242,
  sampler: "DPM++ 2M",
};

/** A file in the page (as a drop or a paste brings one), from bytes made here. */
async function fileTransfer(page: Page, bytes: Buffer, name: string, type: string) {
  return page.evaluateHandle(
    ({ base64, name, type }) => {
      const data = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([data], name, { type }));
      return transfer;
    },
    { base64: bytes.toString("base64"), name, type },
  );
}

async function expectForm(page: Page, values: Record<string, string>) {
  const field = {
    width: page.getByLabel("Width"),
    height: page.getByLabel("Height"),
    steps: page.getByRole("spinbutton", { name: "Steps" }),
    guidance: page.getByRole("spinbutton", { name: "Guidance scale" }),
    seed: page.getByLabel("Seed value"),
    sampler: page.getByLabel("Sampler"),
    schedule: page.getByLabel("Schedule type"),
  } as Record<string, ReturnType<Page["getByLabel"]>>;
  for (const [key, value] of Object.entries(values)) await expect(field[key], key).toHaveValue(value);
}

test("dropping a PNG answer of the api onto the page fills the prompts, seed, steps, sampler and size", async ({
  generator,
  page,
  request,
  stack,
}) => {
  const answer = await request.post(`${apiUrl(stack)}/generateimage`, { data: LIGHTHOUSE });
  expect(answer.status()).toBe(200);
  expect(answer.headers()["content-type"]).toBe("image/png");
  await generator.fill({ prompt: "something else", negative: "", steps: 9, seed: 1 });

  const transfer = await fileTransfer(page, await answer.body(), "img-4242.png", "image/png");
  await page.dispatchEvent("main", "dragover", { dataTransfer: transfer });
  await expect(page.getByTestId("drop-overlay")).toBeVisible();
  await page.dispatchEvent("main", "drop", { dataTransfer: transfer });
  await expect(page.getByTestId("drop-overlay")).toHaveCount(0);

  await expect(page.getByTestId("import-notice")).toHaveAttribute("data-kind", "applied");
  await expect(page.getByTestId("import-notice")).toContainText("Parameters read from img-4242.png");
  await expect(generator.prompt).toHaveValue(LIGHTHOUSE.positivePrompt);
  await expect(generator.negativePrompt).toHaveValue(LIGHTHOUSE.negativePrompt);
  await expect(page.getByRole("radio", { name: "Fixed" })).toBeChecked();
  // Automatic on DPM++ 2M ran as Karras, which is what the file says.
  await expectForm(page, {
    seed: "4242",
    steps: "3",
    sampler: "DPM++ 2M",
    schedule: "Karras",
    width: "72",
    height: "64",
    guidance: "6.5",
  });
  await generator.screenshot("imported");
});

test("pasting a JPEG answer reads its EXIF parameters; a sampler the api does not list is left unset with a note", async ({
  generator,
  page,
  request,
  stack,
}) => {
  const jpeg = await request.post(`${apiUrl(stack)}/generateimage`, {
    data: { ...LIGHTHOUSE, positivePrompt: "un phare, «huile» 灯台", sampler: "Euler a", seed: 99, format: "jpeg" },
  });
  expect(jpeg.headers()["content-type"]).toBe("image/jpeg");
  await generator.openAdvanced();
  const transfer = await fileTransfer(page, await jpeg.body(), "phare.jpg", "image/jpeg");
  await page.evaluate((clipboardData) => {
    document.body.dispatchEvent(new ClipboardEvent("paste", { clipboardData, bubbles: true, cancelable: true }));
  }, transfer);
  await expect(page.getByTestId("import-notice")).toContainText("Parameters read from phare.jpg");
  await expect(generator.prompt).toHaveValue("un phare, «huile» 灯台");
  await expectForm(page, { seed: "99", sampler: "Euler a", steps: "3" });

  // The same PNG with its parameters naming a sampler this api has not got, chosen with the button.
  const png = Buffer.from(await (await request.post(`${apiUrl(stack)}/generateimage`, { data: LIGHTHOUSE })).body());
  const text = Buffer.from("parameters\0a red fox\nSteps: 7, Sampler: Restart, Schedule type: Karras, Seed: 5, Size: 64x64", "latin1");
  const chunk = Buffer.alloc(12 + text.length);
  chunk.writeUInt32BE(text.length, 0);
  chunk.write("tEXt", 4, "latin1");
  text.copy(chunk, 8); // the page does not check the CRC
  const edited = Buffer.concat([png.subarray(0, 33), chunk, png.subarray(33)]); // right after IHDR
  await page.getByTestId("import-file").setInputFiles({ name: "fox.png", mimeType: "image/png", buffer: edited });
  await expect(page.getByTestId("import-notice")).toContainText("Parameters read from fox.png");
  await expect(page.getByTestId("import-notes")).toContainText("The sampler “Restart” is not one this API offers");
  await expect(generator.prompt).toHaveValue("a red fox");
  await expectForm(page, { seed: "5", steps: "7", sampler: "", schedule: "Karras" });

  // A file with no parameters says so, and leaves the form alone.
  await page.getByTestId("import-file").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hi") });
  await expect(page.getByTestId("import-notice")).toHaveAttribute("data-kind", "failed");
  await expect(page.getByTestId("import-notice")).toContainText("notes.txt is not a PNG, JPEG or WebP image.");
  await expect(generator.prompt).toHaveValue("a red fox");
});

test("Copy parameters puts the shown image's infotext, as the done event gave it, on the clipboard", async ({
  generator,
  page,
  context,
  stack,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(page.url()).origin });
  await generator.fill({ prompt: "a quiet harbour", width: 128, height: 128, steps: 2, seed: 31 });
  const sent = page.waitForRequest((r) => r.url().endsWith("/generateimage/stream") && r.method() === "POST");
  await generator.generate();
  // The browser keeps no body of a stream: the same request again (a fixed seed) gives the same done event.
  const response = await fetch(`${apiUrl(stack)}/generateimage/stream`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: (await sent).postData(),
  });
  let infotext = "";
  for await (const message of readServerSentEvents(response.body!)) {
    if (message.event === "done") infotext = (JSON.parse(message.data) as { infotext: string }).infotext;
  }
  expect(infotext).toMatch(/^a quiet harbour\nSteps: 2, Sampler: \S+.*, Seed: 31, Size: 128x128, /);
  // And it is what the shown image's file holds.
  const file = await page.evaluate(async (url) => {
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    return btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
  }, await generator.imageSrc());
  expect(await pngText(new Uint8Array(Buffer.from(file, "base64")), "parameters")).toBe(infotext);

  const copy = page.getByTestId("copy-parameters");
  await copy.click();
  await expect(copy).toHaveText("Copied");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(infotext);
  await expect(copy).toHaveText("Copy parameters", { timeout: 5_000 });
});
