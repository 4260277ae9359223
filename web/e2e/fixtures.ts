// The page object and fixtures shared by the specs: each test gets a fresh page on the stack from global-setup.ts.
import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { expect, test as base, type APIRequestContext, type Locator, type Page } from "@playwright/test";

import { SCREENSHOT_DIR, apiUrl, readState, webUrl, type StackState } from "./stack";

export { expect };

export class GeneratorPage {
  readonly prompt: Locator;
  readonly negativePrompt: Locator;
  readonly generateButton: Locator;
  readonly preview: Locator;
  readonly image: Locator;
  readonly placeholder: Locator;
  readonly error: Locator;
  readonly usedSeed: Locator;
  /** The gallery's tiles (the api keeps every image), newest first. */
  readonly gallery: Locator;
  readonly cancelButton: Locator;
  readonly cancelledNote: Locator;
  readonly progressPanel: Locator;
  readonly progressBar: Locator;
  readonly progressStatus: Locator;
  readonly livePreview: Locator;

  constructor(
    readonly page: Page,
    readonly stack: StackState,
  ) {
    this.prompt = page.getByLabel("Prompt", { exact: true });
    this.negativePrompt = page.getByLabel("Negative prompt");
    this.generateButton = page.getByRole("button", { name: /generat/i }).and(page.locator("[type=submit]"));
    this.preview = page.getByTestId("preview");
    this.image = page.getByTestId("preview-image");
    this.placeholder = page.getByTestId("preview-placeholder");
    this.error = page.getByTestId("generate-error");
    this.usedSeed = page.getByTestId("used-seed");
    this.gallery = page.getByTestId("gallery-item");
    this.cancelButton = page.getByRole("button", { name: "Cancel" });
    this.cancelledNote = page.getByTestId("cancelled-note");
    this.progressPanel = page.getByTestId("progress-panel");
    this.progressBar = page.getByRole("progressbar", { name: "Generation progress" });
    this.progressStatus = page.getByTestId("progress-status");
    this.livePreview = page.getByTestId("live-preview");
  }

  async open() {
    await this.page.goto(webUrl(this.stack));
    await expect(this.page.getByTestId("model-status")).toHaveAttribute("data-state", "ready");
  }

  async openAdvanced() {
    const trigger = this.page.getByRole("button", { name: /^Advanced/ });
    if ((await trigger.getAttribute("aria-expanded")) !== "true") await trigger.click();
    await expect(this.page.getByLabel("Width")).toBeVisible();
  }

  /** Sets what the test names; the rest keeps the page's values. Sizes and steps stay small: 2 CPU cores. */
  async fill(options: {
    prompt?: string;
    negative?: string;
    width?: number | string;
    height?: number | string;
    steps?: number | string;
    guidance?: number | string;
    seed?: number | "random";
  }) {
    if (options.prompt !== undefined) await this.prompt.fill(options.prompt);
    if (options.negative !== undefined) await this.negativePrompt.fill(options.negative);
    await this.openAdvanced();
    if (options.width !== undefined) await this.page.getByLabel("Width").fill(String(options.width));
    if (options.height !== undefined) await this.page.getByLabel("Height").fill(String(options.height));
    if (options.steps !== undefined) await this.page.getByRole("spinbutton", { name: "Steps" }).fill(String(options.steps));
    if (options.guidance !== undefined) {
      await this.page.getByRole("spinbutton", { name: "Guidance scale" }).fill(String(options.guidance));
    }
    if (options.seed === "random") {
      await this.page.getByRole("radio", { name: "Random" }).click();
    } else if (options.seed !== undefined) {
      await this.page.getByRole("radio", { name: "Fixed" }).click();
      await this.page.getByLabel("Seed value").fill(String(options.seed));
    }
  }

  /** Presses Generate and waits until the request has finished, one way or the other: a new image shown, or an error. */
  async generate(how: "click" | "keyboard" = "click") {
    // Each answer is shown through a new blob: URL, so a changed src is a new image (the gallery fills in after).
    const before = (await this.image.count()) > 0 ? await this.image.getAttribute("src") : null;
    if (how === "click") await this.generateButton.click();
    else await this.prompt.press("ControlOrMeta+Enter");
    const shown = async () => (await this.image.count()) > 0 && (await this.image.getAttribute("src")) !== before;
    await expect.poll(async () => (await shown()) || (await this.error.isVisible()), { timeout: 90_000 }).toBe(true);
    await expect(this.generateButton).toBeEnabled();
  }

  /** The progress bar's aria-valuenow right now: null while there is no bar or its amount is unknown (queued). */
  async progressValue(): Promise<number | null> {
    return this.page.evaluate(() => {
      const bar = document.querySelector('[role="progressbar"][aria-label="Generation progress"]');
      const value = bar?.getAttribute("aria-valuenow");
      return value === null || value === undefined ? null : Number(value);
    });
  }

  async imageSrc(): Promise<string> {
    const src = await this.image.getAttribute("src");
    expect(src).toMatch(/^blob:/);
    return src as string;
  }

  /** SHA-256 and length of what a blob: URL holds, read inside the page (blob: URLs belong to it). */
  async blobDigest(url: string): Promise<{ sha256: string; bytes: number }> {
    return this.page.evaluate(async (blobUrl) => {
      const data = await (await fetch(blobUrl)).arrayBuffer();
      const digest = await crypto.subtle.digest("SHA-256", data);
      const sha256 = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
      return { sha256, bytes: data.byteLength };
    }, url);
  }

  /** Share of the shown image's pixels nearest (by RGB distance) to each colour of `palette`, read in the page. */
  async colorShares(palette: Record<string, readonly [number, number, number]>): Promise<Record<string, number>> {
    await this.naturalSize();
    return this.image.evaluate((img: HTMLImageElement, colors) => {
      const canvas = document.createElement("canvas");
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const context = canvas.getContext("2d")!;
      context.drawImage(img, 0, 0);
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      const names = Object.keys(colors);
      const counts = new Map(names.map((name) => [name, 0]));
      for (let i = 0; i < data.length; i += 4) {
        let best = names[0];
        let bestDistance = Infinity;
        for (const name of names) {
          const [r, g, b] = colors[name];
          const distance = (data[i] - r) ** 2 + (data[i + 1] - g) ** 2 + (data[i + 2] - b) ** 2;
          if (distance < bestDistance) [best, bestDistance] = [name, distance];
        }
        counts.set(best, counts.get(best)! + 1);
      }
      return Object.fromEntries(names.map((name) => [name, counts.get(name)! / (data.length / 4)]));
    }, palette);
  }

  async naturalSize(): Promise<{ width: number; height: number }> {
    await expect
      .poll(() => this.image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0))
      .toBe(true);
    return this.image.evaluate((img: HTMLImageElement) => ({ width: img.naturalWidth, height: img.naturalHeight }));
  }

  async previewRatio(): Promise<number> {
    const box = await this.preview.boundingBox();
    expect(box).not.toBeNull();
    return box!.width / box!.height;
  }

  async screenshot(name: string) {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const path = join(SCREENSHOT_DIR, `${name}.png`);
    await this.page.screenshot({ path, fullPage: true });
    return path;
  }
}

/** Deletes every image of the stack's gallery through the api: each test starts with none of the earlier ones'. */
export async function emptyGallery(request: APIRequestContext, stack: StackState) {
  for (;;) {
    const page = (await (await request.get(`${apiUrl(stack)}/images?limit=100`)).json()) as { images: { id: string }[] };
    if (page.images.length === 0) return;
    for (const { id } of page.images) expect((await request.delete(`${apiUrl(stack)}/images/${id}`)).status()).toBe(204);
  }
}

export const test = base.extend<{ stack: StackState; generator: GeneratorPage }>({
  // `provide`, not Playwright's usual `use`: React's hook rules would take `use(...)` for React.use.
  stack: async ({}, provide) => {
    await provide(readState());
  },
  generator: async ({ page, stack, request }, provide) => {
    await emptyGallery(request, stack);
    const generator = new GeneratorPage(page, stack);
    await generator.open();
    await provide(generator);
  },
});
