// The gallery on the real stack (issue 15): what the api kept survives a reload, shows as thumbnails, pages as the
// grid scrolls, is searched by prompt, starred, deleted after a confirm, and opened full size with Reuse.
import type { Route } from "@playwright/test";

import { expect, test } from "./fixtures";
import { apiUrl } from "./stack";

const SMALL = { width: 128, height: 128, steps: 2 };

test("the gallery keeps what was made across a reload, newest first, as thumbnails", async ({ generator, page }) => {
  await generator.fill({ prompt: "a kept lighthouse", ...SMALL, seed: 31 });
  await generator.generate();
  await generator.fill({ prompt: "a kept harbour", ...SMALL, seed: 32 });
  await generator.generate();
  await expect(generator.gallery).toHaveCount(2);

  const fetched: string[] = [];
  page.on("request", (request) => fetched.push(new URL(request.url()).pathname));
  await page.reload();
  await expect(generator.gallery).toHaveCount(2);
  await expect(generator.gallery.nth(0)).toHaveAttribute("data-seed", "32");
  await expect(generator.gallery.nth(1)).toHaveAttribute("data-seed", "31");
  await expect(generator.gallery.nth(1)).toHaveAttribute("aria-label", /a kept lighthouse/);
  // Each tile shows the api's thumbnail (a WebP, 128 px here as the image is), never the full file.
  const thumb = generator.gallery.nth(0).locator("img");
  await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(128);
  expect(fetched.filter((path) => path.endsWith("/thumbnail"))).toHaveLength(2);
  expect(fetched.filter((path) => path.endsWith("/file"))).toHaveLength(0);
  await generator.screenshot("gallery");
});

test("opening an image shows it full size with its parameters, and Reuse fills the form with them", async ({
  generator,
  page,
}) => {
  await generator.fill({ prompt: "first picture", negative: "fog", width: 128, height: 64, steps: 3, seed: 11 });
  await page.getByLabel("Sampler").selectOption("Euler a");
  await generator.generate();
  const firstDigest = await generator.blobDigest(await generator.imageSrc());
  await page.getByLabel("Sampler").selectOption("");
  await generator.fill({ prompt: "second picture", negative: "", ...SMALL, seed: 22 });
  await generator.generate();
  await expect(generator.gallery).toHaveCount(2);

  await generator.gallery.nth(1).click();
  const viewer = page.getByTestId("image-viewer");
  await expect(viewer).toBeVisible();
  await expect(page.getByTestId("viewer-prompt")).toHaveText("first picture");
  await expect(viewer.getByTestId("used-seed")).toHaveText("11");
  await expect(viewer.getByTestId("used-size")).toHaveText("128 × 64");
  await expect(viewer.getByTestId("used-sampler")).toHaveText(/^Euler a/);
  // The file itself, byte for byte what the page was answered when it was made.
  const full = page.getByTestId("viewer-image");
  await expect.poll(() => full.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(128);
  expect(await generator.blobDigest((await full.getAttribute("src"))!)).toEqual(firstDigest);
  await expect(page.getByTestId("viewer-download")).toHaveAttribute("download", "img-11.png");
  await generator.screenshot("gallery-viewer");

  await page.getByTestId("viewer-reuse").click();
  await expect(viewer).toHaveCount(0);
  await expect(page.getByTestId("import-notice")).toContainText("Parameters read from img-11.png");
  await expect(generator.prompt).toHaveValue("first picture");
  await expect(generator.negativePrompt).toHaveValue("fog");
  await expect(page.getByLabel("Width")).toHaveValue("128");
  await expect(page.getByLabel("Height")).toHaveValue("64");
  await expect(page.getByRole("spinbutton", { name: "Steps" })).toHaveValue("3");
  await expect(page.getByLabel("Seed value")).toHaveValue("11");
  await expect(page.getByLabel("Sampler")).toHaveValue("Euler a");

  // Generate now makes the same picture again.
  await generator.generate();
  expect(await generator.blobDigest(await generator.imageSrc())).toEqual(firstDigest);
});

test("search finds images by their prompt, and a star is kept across a reload and filters the grid", async ({
  generator,
  page,
}) => {
  await generator.fill({ prompt: "a red fox", ...SMALL, seed: 41 });
  await generator.generate();
  await generator.fill({ prompt: "a blue whale", negative: "", ...SMALL, seed: 42 });
  await generator.generate();
  await expect(generator.gallery).toHaveCount(2);

  const search = page.getByLabel("Search the gallery's prompts");
  await search.fill("WHALE");
  await expect(generator.gallery).toHaveCount(1);
  await expect(generator.gallery).toHaveAttribute("data-seed", "42");
  await search.fill("nothing like it");
  await expect(page.getByTestId("gallery-empty")).toHaveText("No image matches.");
  await search.fill("");
  await expect(generator.gallery).toHaveCount(2);

  const foxStar = page.getByRole("button", { name: /^Star image: seed 41/ });
  await foxStar.click();
  await expect(page.getByRole("button", { name: /^Unstar image: seed 41/ })).toHaveAttribute("aria-pressed", "true");
  await page.reload();
  await expect(generator.gallery).toHaveCount(2);
  await expect(page.getByRole("button", { name: /^Unstar image: seed 41/ })).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByRole("button", { name: /^Star image: seed 42/ })).toHaveAttribute("aria-pressed", "false");

  await page.getByRole("button", { name: "Starred only" }).click();
  await expect(generator.gallery).toHaveCount(1);
  await expect(generator.gallery).toHaveAttribute("data-seed", "41");
  // Unstarred from the viewer, it leaves the starred-only grid.
  await generator.gallery.click();
  await page.getByTestId("viewer-star").click();
  await expect(page.getByTestId("viewer-star")).toHaveAttribute("aria-pressed", "false");
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("gallery-empty")).toBeVisible();
});

test("delete asks first, and then the image is gone for good, file and all", async ({ generator, page, request, stack }) => {
  await generator.fill({ prompt: "a doomed sketch", ...SMALL, seed: 51 });
  await generator.generate();
  await expect(generator.gallery).toHaveCount(1);
  const id = await page.getByTestId("gallery-tile").getAttribute("data-id");
  expect((await request.get(`${apiUrl(stack)}/images/${id}/file`)).status()).toBe(200);

  await page.getByRole("button", { name: /^Delete image: seed 51/ }).click();
  await expect(page.getByRole("alertdialog")).toContainText("Delete this image?");
  await page.getByRole("button", { name: "Keep it" }).click();
  await expect(generator.gallery).toHaveCount(1);

  // From the viewer this time.
  await generator.gallery.click();
  await page.getByTestId("viewer-delete").click();
  await page.getByTestId("confirm-delete").click();
  await expect(page.getByTestId("image-viewer")).toHaveCount(0);
  await expect(generator.gallery).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId("gallery-empty")).toBeVisible();
  expect((await request.get(`${apiUrl(stack)}/images/${id}`)).status()).toBe(404);
  expect((await request.get(`${apiUrl(stack)}/images/${id}/file`)).status()).toBe(404);
});

test("the grid asks for the next page as it scrolls, with the api's cursor, until the last", async ({ generator, page, stack }) => {
  await generator.fill({ prompt: "a row of lanterns", ...SMALL, seed: 60 });
  await page.getByRole("spinbutton", { name: "Images" }).fill("5");
  await generator.generate();
  // Pages of 2 here (the page asks for more at a time), so 5 images take 3 pages with real cursors.
  const asked: URL[] = [];
  await page.route(`${apiUrl(stack)}/images?*`, (route: Route) => {
    const url = new URL(route.request().url());
    url.searchParams.set("limit", "2");
    asked.push(url);
    return route.continue({ url: url.toString() });
  });
  await page.reload();
  await expect(generator.gallery.first()).toBeVisible();
  await page.getByTestId("gallery").scrollIntoViewIfNeeded();
  await page.mouse.wheel(0, 5000);
  await expect(generator.gallery).toHaveCount(5);
  await expect(page.getByRole("button", { name: "Load more" })).toHaveCount(0);
  const seeds = await generator.gallery.evaluateAll((tiles) => tiles.map((tile) => tile.getAttribute("data-seed")));
  expect(seeds).toEqual(["64", "63", "62", "61", "60"]);
  expect(asked.map((url) => url.searchParams.get("cursor") !== null)).toEqual([false, true, true]);
});
