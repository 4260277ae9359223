// Samplers and several images per request (the page on the real stack): the Sampler and Schedule type menus, the
// results grid with each image's seed and Download, "Use this seed", and "image i of n" while it runs.
import { expect, test } from "./fixtures";
import { apiUrl } from "./stack";

const SMALL = { width: 128, height: 128, steps: 4 };

test("choosing a sampler and 3 images gives a grid of 3 with seeds s, s+1, s+2 and the sampler shown", async ({
  generator,
  page,
  request,
  stack,
}) => {
  const ready = (await (await request.get(`${apiUrl(stack)}/ready`)).json()) as { defaults: { sampler: string } };
  await generator.fill({ prompt: "three lighthouses", ...SMALL, seed: 500 });
  const sampler = page.getByLabel("Sampler");
  const schedule = page.getByLabel("Schedule type");
  // The model's own sampler is the default, and sends none.
  await expect(sampler.locator("option:checked")).toHaveText(`${ready.defaults.sampler} (model default)`);
  await expect(schedule.locator("option:checked")).toHaveText("Automatic");

  // A sampler over fixed timesteps offers only the schedules it can follow; DPM++ 2M all of them.
  await sampler.selectOption("Euler a");
  await expect(schedule.locator("option")).toHaveText(["Automatic", "Uniform", "SGM Uniform"]);
  await schedule.selectOption("SGM Uniform");
  await sampler.selectOption("DPM++ 2M");
  await expect(schedule.locator("option")).toHaveCount(6);
  await expect(schedule).toHaveValue("SGM Uniform");
  await schedule.selectOption("Automatic");
  await page.getByRole("spinbutton", { name: "Images" }).fill("3");

  // Every text the "image i of n" line shows while it runs.
  await page.evaluate(() => {
    const seen = new Set<string>();
    (window as unknown as { seenImages: Set<string> }).seenImages = seen;
    new MutationObserver(() => {
      const text = document.querySelector('[data-testid="progress-image"]')?.textContent;
      if (text) seen.add(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const sent = page.waitForRequest((r) => r.url().endsWith("/generateimage/stream") && r.method() === "POST");
  await generator.generate();
  expect((await sent).postDataJSON()).toEqual({
    positivePrompt: "three lighthouses",
    ...SMALL,
    guidanceScale: expect.any(Number),
    seed: 500,
    sampler: "DPM++ 2M",
    count: 3,
  });
  await expect(generator.error).toHaveCount(0);

  const items = page.getByTestId("grid-item");
  await expect(items).toHaveCount(3);
  await expect(page.getByTestId("grid-seed")).toHaveText(["500", "501", "502"]);
  for (const [i, seed] of [500, 501, 502].entries()) {
    await expect(items.nth(i)).toHaveAttribute("data-seed", String(seed));
    await expect(page.getByTestId("grid-download").nth(i)).toHaveAttribute("download", `img-${seed}.png`);
  }
  // The first is shown large, with what ran: Automatic on DPM++ 2M is its own Karras.
  await expect(generator.usedSeed).toHaveText("500");
  await expect(page.getByTestId("used-sampler")).toHaveText("DPM++ 2M · Karras");
  await expect(generator.gallery).toHaveCount(3);
  const seen = await page.evaluate(() => [...(window as unknown as { seenImages: Set<string> }).seenImages]);
  expect(seen).toEqual(expect.arrayContaining(["Image 1 of 3", "Image 2 of 3", "Image 3 of 3"]));
  await generator.screenshot("grid");

  // Choosing one in the grid shows it large, with its own seed and file name.
  await items.nth(2).getByRole("button", { name: /Show the image/ }).click();
  await expect(generator.usedSeed).toHaveText("502");
  await expect(page.getByTestId("download")).toHaveAttribute("download", "img-502.png");
  await expect(items).toHaveCount(3);
});

test("Use this seed puts the image's seed in the seed field, for one image, which comes out the same", async ({
  generator,
  page,
}) => {
  await generator.fill({ prompt: "two foxes", ...SMALL, seed: 77 });
  await page.getByLabel("Sampler").selectOption("Euler a");
  await page.getByRole("spinbutton", { name: "Images" }).fill("2");
  await generator.generate();
  await expect(page.getByTestId("grid-item")).toHaveCount(2);
  const second = await page.getByTestId("grid-item").nth(1).locator("img").getAttribute("src");

  await page.getByRole("button", { name: "Use this seed (78)" }).click();
  await expect(page.getByRole("radio", { name: "Fixed" })).toBeChecked();
  await expect(page.getByLabel("Seed value")).toHaveValue("78");
  await expect(page.getByRole("spinbutton", { name: "Images" })).toHaveValue("1");

  await generator.generate();
  await expect(generator.usedSeed).toHaveText("78");
  await expect(page.getByTestId("results-grid")).toHaveCount(0);
  // The same seed alone gives the picture it gave as the request's second.
  expect(await generator.blobDigest(await generator.imageSrc())).toEqual(await generator.blobDigest(second!));
});

test("Cancel during a request for several images stops all of them and keeps none", async ({ generator, page }) => {
  test.slow();
  await generator.fill({ prompt: "many slow pictures", width: 256, height: 256, steps: 10, seed: 9 });
  await page.getByRole("spinbutton", { name: "Images" }).fill("4");
  await generator.generateButton.click();
  await expect(page.getByTestId("progress-image")).toHaveText(/^Image [1-4] of 4$/, { timeout: 60_000 });
  await generator.cancelButton.click();
  await expect(generator.cancelledNote).toHaveText("Cancelled.");
  await expect(generator.generateButton).toBeEnabled({ timeout: 1_000 });
  await expect(generator.progressPanel).toHaveCount(0);
  await expect(generator.gallery).toHaveCount(0);
  await expect(page.getByTestId("results-grid")).toHaveCount(0);

  // The worker is free for the next request at once.
  await generator.fill({ prompt: "right after", width: 128, height: 128, steps: 2 });
  await page.getByRole("spinbutton", { name: "Images" }).fill("1");
  await generator.generate();
  await expect(generator.error).toHaveCount(0);
  await expect(generator.gallery).toHaveCount(1);
});
