// Image to image and inpainting on the real stack: an uploaded PNG is the init image (the answer has its size),
// a result goes back in as the next one, a dropped image becomes the init image, and a painted mask is sent as a
// PNG of the init image's pixel size.
import type { Page, Request } from "@playwright/test";

import type { GenerateRequest } from "../src/api/types";
import { pngSize } from "../src/features/img2img/mask-png";
import { expect, test } from "./fixtures";
import { apiUrl } from "./stack";

// A multiple of 8, so "rounded down to 8" leaves it as it is; small for the CPU worker.
const INIT = { width: 136, height: 96 };

/** An RGB PNG drawn on a canvas in the page: a gradient and a square, so there is something to start from. */
async function initPng(page: Page, width = INIT.width, height = INIT.height): Promise<Buffer> {
  const base64 = await page.evaluate(
    ({ width, height }) => {
      const canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      const context = canvas.getContext("2d")!;
      const gradient = context.createLinearGradient(0, 0, width, height);
      gradient.addColorStop(0, "#1e3a8a");
      gradient.addColorStop(1, "#f59e0b");
      context.fillStyle = gradient;
      context.fillRect(0, 0, width, height);
      context.fillStyle = "#ffffff";
      context.fillRect(width / 4, height / 4, width / 2, height / 2);
      return canvas.toDataURL("image/png").split(",")[1];
    },
    { width, height },
  );
  return Buffer.from(base64, "base64");
}

/** Records the bodies of the stream requests the page sends. */
function streamBodies(page: Page): GenerateRequest[] {
  const bodies: GenerateRequest[] = [];
  page.on("request", (request: Request) => {
    if (request.url().endsWith("/generateimage/stream") && request.method() === "POST") bodies.push(request.postDataJSON());
  });
  return bodies;
}

async function enterImageToImage(page: Page) {
  await page.getByRole("tab", { name: "Image to image" }).click();
  await expect(page.getByRole("region", { name: "Image to image" })).toBeVisible();
}

async function upload(page: Page, bytes: Buffer, name = "init.png") {
  await page.getByTestId("init-image-file").setInputFiles({ name, mimeType: "image/png", buffer: bytes });
  await expect(page.getByTestId("init-image")).toBeVisible();
}

test("image to image with an uploaded PNG answers an image of its size, which goes back in as the next init image", async ({
  generator,
  page,
}) => {
  const bodies = streamBodies(page);
  await generator.fill({ prompt: "a harbour at noon", steps: 2, seed: 11 });
  await enterImageToImage(page);
  await upload(page, await initPng(page));
  await expect(page.getByTestId("init-image-size")).toContainText(`${INIT.width} × ${INIT.height}`);
  await page.getByRole("spinbutton", { name: "Denoising strength" }).fill("0.6");
  await generator.generate();
  await expect(generator.error).toBeHidden();

  expect(await generator.naturalSize()).toEqual(INIT);
  await expect(page.getByTestId("used-size")).toHaveText(`${INIT.width} × ${INIT.height}`);
  await expect(page.getByTestId("used-denoising-strength")).toContainText("0.6");
  const [first] = bodies;
  expect(first.initImage).toMatch(/^data:image\/png;base64,/);
  expect(first.denoisingStrength).toBe(0.6);
  // The size fields were not touched: the api takes the init image's.
  expect(first).not.toHaveProperty("width");
  expect(first).not.toHaveProperty("height");
  expect(first).not.toHaveProperty("mask");

  // The result as the next init image.
  const resultSrc = await generator.imageSrc();
  const result = await page.evaluate(async (url) => {
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    return btoa(String.fromCharCode(...bytes));
  }, resultSrc);
  await page.getByTestId("send-to-img2img").click();
  await expect(page.getByTestId("init-image")).toHaveAttribute("src", `data:image/png;base64,${result}`);
  await generator.generate();
  expect(bodies).toHaveLength(2);
  expect(bodies[1].initImage).toBe(`data:image/png;base64,${result}`);
  expect(await generator.naturalSize()).toEqual(INIT);
  await generator.screenshot("img2img");

  // Back to text to image: none of it is sent.
  await page.getByRole("tab", { name: "Text to image" }).click();
  await generator.generate();
  expect(bodies[2]).not.toHaveProperty("initImage");
  expect(bodies[2]).not.toHaveProperty("denoisingStrength");
  await expect(page.getByTestId("used-denoising-strength")).toHaveCount(0);
});

test("in image to image mode a dropped image becomes the init image instead of filling the form", async ({ generator, page }) => {
  await generator.fill({ prompt: "kept as typed" });
  await enterImageToImage(page);
  const bytes = await initPng(page, 64, 48);
  const transfer = await page.evaluateHandle((base64) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], "dropped.png", { type: "image/png" }));
    return transfer;
  }, bytes.toString("base64"));
  await page.dispatchEvent("main", "dragover", { dataTransfer: transfer });
  await page.dispatchEvent("main", "drop", { dataTransfer: transfer });
  await expect(page.getByTestId("init-image-size")).toContainText("dropped.png: 64 × 48");
  await expect(page.getByTestId("import-notice")).toHaveCount(0);
  await expect(generator.prompt).toHaveValue("kept as typed");
});

test("a stroke painted on the mask sends a mask PNG of the init image's size, with its blur", async ({ generator, page, stack }) => {
  await generator.fill({ prompt: "a red door", steps: 2, seed: 5 });
  await enterImageToImage(page);
  await upload(page, await initPng(page));
  const sent: GenerateRequest[] = [];
  await page.route(`${apiUrl(stack)}/generateimage/stream`, async (route) => {
    if (route.request().method() === "POST") sent.push(route.request().postDataJSON());
    await route.continue();
  });

  const canvas = page.getByTestId("mask-canvas");
  await expect(canvas).toHaveJSProperty("width", INIT.width);
  await canvas.scrollIntoViewIfNeeded(); // the mouse works in the viewport's coordinates
  const box = (await canvas.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.5);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.4, { steps: 5 });
  await page.mouse.move(box.x + box.width * 0.8, box.y + box.height * 0.6, { steps: 5 });
  await page.mouse.up();
  await page.getByRole("spinbutton", { name: "Mask blur" }).fill("6");

  await generator.generate();
  await expect(generator.error).toBeHidden();
  expect(sent).toHaveLength(1);
  const { mask, maskBlur } = sent[0];
  expect(mask).toMatch(/^data:image\/png;base64,/);
  expect(pngSize(mask as string)).toEqual(INIT);
  expect(maskBlur).toBe(6);
  expect(await generator.naturalSize()).toEqual(INIT);
  await expect(page.getByTestId("used-denoising-strength")).toHaveText("0.75 · mask blur 6 px");
  await generator.screenshot("inpainting");

  // Cleared: no mask is sent.
  await page.getByRole("button", { name: "Clear mask" }).click();
  await generator.generate();
  expect(sent[1]).not.toHaveProperty("mask");
  expect(sent[1]).not.toHaveProperty("maskBlur");
});
