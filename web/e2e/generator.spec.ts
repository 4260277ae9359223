// The page against the real stack (worker on the demo model, api, production build), as a person would use it.
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

import { expect, test } from "./fixtures";
import { WEB_DIR, apiUrl, readState, sleep, startApi, stop, webUrl, writeState } from "./stack";

// Small and few steps: 2 CPU cores run the demo model at these sizes in well under a second.
const SMALL = { width: 128, height: 128, steps: 2 };
// The demo model's world (scripts/demo_world.py): CSS named colours, and the prompt a newcomer is shown first.
const CSS_COLORS = {
  red: [255, 0, 0],
  green: [0, 128, 0],
  blue: [0, 0, 255],
  yellow: [255, 255, 0],
  white: [255, 255, 255],
  black: [0, 0, 0],
  orange: [255, 165, 0],
  purple: [128, 0, 128],
} as const;
const DEMO_PROMPT = "a yellow circle on a blue background";

test("the empty page has labelled prompts, a placeholder and says what the demo model draws", async ({
  generator,
  page,
}) => {
  await expect(page.getByRole("heading", { level: 1, name: "img-generator" })).toBeVisible();
  await expect(generator.prompt).toBeVisible();
  await expect(generator.negativePrompt).toBeVisible();
  await expect(generator.placeholder).toBeVisible();
  await expect(generator.image).toHaveCount(0);
  await expect(page.getByTestId("demo-notice")).toContainText(DEMO_PROMPT);
  await expect(page.getByTestId("model-status")).toContainText(/demo model/i);
  await expect(page.getByRole("button", { name: /^Generate$/ })).toBeEnabled();
  await generator.screenshot("empty");
});

test("until GET /ready answers, the settings say so instead of showing some model's defaults", async ({
  page,
  stack,
}) => {
  let answer!: () => void;
  const held = new Promise<void>((resolve) => (answer = resolve));
  await page.route(`${apiUrl(stack)}/ready`, async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(webUrl(stack));
  await page.getByRole("button", { name: /^Advanced/ }).click();
  await expect(page.getByTestId("settings-loading")).toContainText("Connecting to the worker");
  await expect(page.getByLabel("Width")).toHaveCount(0);
  await expect(page.getByRole("button", { name: /^Advanced/ })).toContainText("Connecting to the worker");
  answer();
  await expect(page.getByTestId("model-status")).toHaveAttribute("data-state", "ready");
  await expect(page.getByTestId("settings-loading")).toHaveCount(0);
  await expect(page.getByLabel("Width")).toHaveValue(/^\d+$/);
  await expect(page.getByRole("spinbutton", { name: "Steps" })).toHaveValue(/^\d+$/);
});

test("generates an image, shows it with the seed used, and downloads it under the api's file name", async ({
  generator,
  page,
}) => {
  await generator.fill({ prompt: "a lighthouse at dusk", negative: "blurry", width: 256, height: 256, steps: 4 });
  await generator.generateButton.click();
  // While it runs: a disabled, busy button with the elapsed time.
  await expect(generator.generateButton).toBeDisabled();
  await expect(generator.generateButton).toHaveAttribute("aria-busy", "true");
  await expect(page.getByTestId("elapsed")).toHaveText(/\d+\.\d s/);
  await expect(generator.generateButton).toBeEnabled({ timeout: 90_000 });

  await expect(generator.error).toHaveCount(0);
  expect(await generator.naturalSize()).toEqual({ width: 256, height: 256 });
  await expect(generator.usedSeed).toHaveText(/^\d+$/);
  const seed = (await generator.usedSeed.textContent())!.trim();
  await expect(page.getByTestId("used-size")).toHaveText("256 × 256");
  await expect(generator.gallery).toHaveCount(1);

  const downloadLink = page.getByTestId("download");
  // The name the api gives the file (the worker's hint, as in the unary route's Content-Disposition).
  await expect(downloadLink).toHaveAttribute("download", `img-${seed}.png`);
  const [download] = await Promise.all([page.waitForEvent("download"), downloadLink.click()]);
  expect(download.suggestedFilename()).toBe(`img-${seed}.png`);

  await generator.screenshot("generated");

  // One click reuses the seed: the seed becomes fixed at that value.
  await page.getByRole("button", { name: `Reuse seed ${seed}` }).click();
  await expect(page.getByRole("radio", { name: "Fixed" })).toBeChecked();
  await expect(page.getByLabel("Seed value")).toHaveValue(seed);
});

test("the demo model draws what its prompt asks, at its own defaults", async ({ generator, page }) => {
  // Only the prompt and a seed: size, steps and guidance are the model's own, as GET /ready gives them.
  await generator.fill({ prompt: DEMO_PROMPT, seed: 3 });
  await generator.generate();
  await expect(generator.error).toHaveCount(0);
  expect(await generator.naturalSize()).toEqual({ width: 256, height: 256 });
  const shares = await generator.colorShares(CSS_COLORS);
  const ranked = Object.keys(shares).sort((a, b) => shares[b] - shares[a]);
  // The eval's checks (scripts/demo_eval.py): the background the most common colour, the shape's among the top two.
  expect(ranked[0]).toBe("blue");
  expect(ranked.slice(0, 2)).toContain("yellow");
  expect(shares.yellow).toBeGreaterThan(0.04);
  const shot = await generator.screenshot("demo-prompt");
  // The README's copy changes on every run (timings): refresh it only when asked (`make screenshot`).
  if (process.env.UPDATE_README_SCREENSHOT === "1") {
    mkdirSync(join(WEB_DIR, "docs"), { recursive: true });
    copyFileSync(shot, join(WEB_DIR, "docs", "screenshot.png"));
  }
  await expect(page.getByTestId("demo-notice")).toBeVisible();
});

test("the preview's aspect ratio follows the requested width and height", async ({ generator, page }) => {
  await generator.fill({ width: 256, height: 128 });
  await expect.poll(() => generator.previewRatio()).toBeCloseTo(2, 1);
  await generator.fill({ width: 128, height: 256 });
  await expect.poll(() => generator.previewRatio()).toBeCloseTo(0.5, 1);
  await page.getByLabel("Size").selectOption("1344x768");
  await expect(page.getByLabel("Width")).toHaveValue("1344");
  await expect(page.getByLabel("Height")).toHaveValue("768");
  await expect.poll(() => generator.previewRatio()).toBeCloseTo(1344 / 768, 1);

  // And the image made at a size has that shape.
  await generator.fill({ prompt: "a wide field", width: 192, height: 96, steps: 2 });
  await generator.generate();
  expect(await generator.naturalSize()).toEqual({ width: 192, height: 96 });
  await expect.poll(() => generator.previewRatio()).toBeCloseTo(2, 1);
});

test("a fixed seed gives the same image bytes twice, another seed other bytes", async ({ generator }) => {
  await generator.fill({ prompt: "a red cube", ...SMALL, seed: 1234 });
  await generator.generate();
  const first = await generator.imageSrc();
  await expect(generator.usedSeed).toHaveText("1234");
  await generator.generate();
  const second = await generator.imageSrc();
  await expect(generator.gallery).toHaveCount(2);
  expect(second).not.toBe(first);

  const [a, b] = [await generator.blobDigest(first), await generator.blobDigest(second)];
  expect(a.bytes).toBeGreaterThan(0);
  expect(b).toEqual(a);

  await generator.fill({ seed: 4321 });
  await generator.generate();
  const other = await generator.blobDigest(await generator.imageSrc());
  expect(other.sha256).not.toBe(a.sha256);
});

test("Ctrl+Enter in a prompt generates, once however often it is pressed while running", async ({ generator }) => {
  await generator.fill({ prompt: "a blue sphere", width: 256, height: 256, steps: 4 });
  await generator.prompt.press("ControlOrMeta+Enter");
  await generator.prompt.press("ControlOrMeta+Enter");
  await generator.negativePrompt.press("ControlOrMeta+Enter");
  await expect(generator.generateButton).toBeDisabled();
  await expect(generator.image).toBeVisible({ timeout: 90_000 });
  await expect(generator.generateButton).toBeEnabled();
  await generator.page.waitForTimeout(500);
  await expect(generator.gallery).toHaveCount(1);
  await expect(generator.error).toHaveCount(0);
  expect((await generator.naturalSize()).width).toBe(256);
});

test("Cancel stops a running request and leaves the page as it was", async ({ generator }) => {
  await generator.fill({ prompt: "a slow picture", width: 256, height: 256, steps: 8 });
  await generator.generateButton.click();
  await expect(generator.generateButton).toBeDisabled();
  await generator.page.getByRole("button", { name: "Cancel" }).click();
  await expect(generator.generateButton).toBeEnabled({ timeout: 5_000 });
  await expect(generator.error).toHaveCount(0);
  await expect(generator.image).toHaveCount(0);
  await expect(generator.placeholder).toBeVisible();
});

test("an invalid value shows the API's own message", async ({ generator, request, stack }) => {
  // The browser lets these through (the form has noValidate); the api refuses them and says why.
  const body = { positivePrompt: "a green cone", width: 260, height: 128, steps: 500 };
  const direct = await request.post(`${apiUrl(stack)}/generateimage`, { data: body });
  expect(direct.status()).toBe(422);
  const expected = (await direct.json()) as { error: string; message: string };

  await generator.fill({ prompt: body.positivePrompt, width: body.width, height: body.height, steps: body.steps });
  await generator.generate();
  await expect(generator.error).toBeVisible();
  await expect(generator.error).toContainText("422");
  await expect(generator.page.getByTestId("generate-error-message")).toContainText(expected.message);
  await expect(generator.error).toContainText(/width/);
  await expect(generator.image).toHaveCount(0);
  await generator.screenshot("error");
});

test("an api that is down shows 'cannot reach the API', and the page works again once it is back", async ({
  generator,
}) => {
  const state = readState();
  await stop(state.pids.api);
  state.pids.api = 0;
  writeState(state);
  try {
    await generator.fill({ prompt: "nobody is listening", ...SMALL });
    await generator.generate();
    await expect(generator.error).toBeVisible();
    await expect(generator.error).toContainText(`Cannot reach the API at ${apiUrl(state)}`);
    await expect(generator.page.getByTestId("model-status")).toContainText("API unreachable");
    await generator.screenshot("unreachable");
  } finally {
    state.pids.api = await startApi(state);
    writeState(state);
  }
  // The page polls GET /ready again after the failure; once it is back, Generate works without a reload.
  await expect(generator.page.getByTestId("model-status")).toHaveAttribute("data-state", "ready", { timeout: 60_000 });
  await sleep(100);
  await generator.generate();
  await expect(generator.error).toHaveCount(0);
  expect((await generator.naturalSize()).width).toBe(128);
});
