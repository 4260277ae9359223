// The model library on the real stack (demo model only, no LoRAs): the model picker with the demo model, what
// choosing a model sends, Refresh, the LoRA picker's empty state and, over a GET /loras list served here, adding a
// LoRA with its weight, the prompt's tag chips, reuse from the gallery and from an image's parameters.
import type { APIRequestContext, Page, Request, Route } from "@playwright/test";

import { GeneratorPage, emptyGallery, expect, test } from "./fixtures";
import { apiUrl, type StackState } from "./stack";

const SMALL = { width: 128, height: 128, steps: 2 };

interface Model {
  name: string;
  title: string;
  hash: string | null;
  kind: string;
  loaded: boolean;
  default: boolean;
  demo: boolean;
}

const FAKE_LORAS = [
  { name: "style/ink", alias: "Ink wash", hash: "0123456789ab", path: "loras/style/ink.safetensors" },
  { name: "detail", alias: "detail", hash: "ffffffffffff", path: "loras/detail.safetensors" },
];

/** Serves `body` as the api's answer to GET `path` in the page (a simple CORS request: no preflight). */
async function serve(page: Page, stack: StackState, path: string, body: unknown) {
  await page.route(`${apiUrl(stack)}${path}`, (route: Route) =>
    route.request().method() === "GET"
      ? route.fulfill({
          status: 200,
          contentType: "application/json",
          headers: { "Access-Control-Allow-Origin": new URL(page.url()).origin },
          body: JSON.stringify(body),
        })
      : route.continue(),
  );
}

/** Records the JSON body of every POST /generateimage/stream, then lets it go on to the real api. */
async function recordPosts(page: Page, stack: StackState): Promise<unknown[]> {
  const bodies: unknown[] = [];
  await page.route(`${apiUrl(stack)}/generateimage/stream`, (route: Route) => {
    const request: Request = route.request();
    if (request.method() === "POST") bodies.push(request.postDataJSON());
    return route.continue();
  });
  return bodies;
}

/** A page opened after `before` has set its routes (the library is asked for as soon as /ready answers). */
async function openWith(page: Page, stack: StackState, before: () => Promise<void>) {
  await page.goto("about:blank");
  await before();
  const generator = new GeneratorPage(page, stack);
  await generator.open();
  await generator.openAdvanced();
  return generator;
}

async function realModels(stack: StackState, request: APIRequestContext) {
  return (await (await request.get(`${apiUrl(stack)}/models`)).json()) as Model[];
}

test("the model picker shows the demo model with its demo badge, chosen as the default, which sends no model", async ({
  generator,
  page,
  request,
  stack,
}) => {
  const models = await realModels(stack, request);
  const demo = models.find((m) => m.demo)!;
  expect(demo.default).toBe(true);
  const bodies = await recordPosts(page, stack);
  await generator.fill({ prompt: "a demo lighthouse", ...SMALL, seed: 11 });

  const options = page.getByTestId("model-option");
  await expect(options).toHaveCount(models.length);
  const option = page.locator(`[data-testid="model-option"][data-name="${demo.name}"]`);
  await expect(option).toContainText(demo.name);
  await expect(option).toContainText("demo");
  await expect(option).toContainText("default");
  await expect(page.getByRole("radio", { name: new RegExp(demo.name) })).toBeChecked();
  await expect(page.getByRole("button", { name: /^Advanced/ })).toContainText(demo.name);

  // Refresh scans the library again and asks for the list after.
  const refreshed = page.waitForResponse((r) => r.url().endsWith("/models/refresh") && r.request().method() === "POST");
  const listed = page.waitForResponse((r) => r.url().endsWith("/models") && r.request().method() === "GET");
  await page.getByRole("button", { name: "Refresh" }).click();
  expect((await refreshed).status()).toBe(200);
  expect((await listed).status()).toBe(200);
  await expect(page.getByTestId("models-refresh-error")).toHaveCount(0);
  await expect(page.getByRole("radio", { name: new RegExp(demo.name) })).toBeChecked();

  // Choosing the default (it is already) sends nothing either.
  await page.getByRole("radio", { name: new RegExp(demo.name) }).click();
  await generator.generate();
  await expect(generator.error).toHaveCount(0);
  expect(bodies).toHaveLength(1);
  expect(bodies[0]).not.toHaveProperty("model");
  expect(bodies[0]).not.toHaveProperty("loras");
  await expect(page.getByTestId("used-model")).toHaveText(demo.name);
  await expect(page.getByTestId("used-loras")).toHaveText("none");
});

test("choosing a model that is not the default sends its name, and the gallery's Reuse brings it back", async ({ page, request, stack }) => {
  const models = await realModels(stack, request);
  const demo = models.find((m) => m.demo)!;
  // A library where another model is the default: the demo model must then be named to be used.
  const other: Model = { name: "not-here-xl", title: "not-here-xl [0011223344]", hash: "0011223344", kind: "file", loaded: false, default: true, demo: false };
  const listed = [{ ...demo, default: false }, other];
  let bodies: unknown[] = [];
  const generator = await openWith(page, stack, async () => {
    await serve(page, stack, "/models", listed);
    bodies = await recordPosts(page, stack);
  });
  await expect(page.getByTestId("model-option")).toHaveCount(2);
  await expect(page.getByRole("radio", { name: /not-here-xl/ })).toBeChecked();
  await expect(page.getByTestId("model-option").nth(1)).toContainText("[0011223344]");

  await page.getByRole("radio", { name: new RegExp(demo.name) }).click();
  await generator.fill({ prompt: "named model", ...SMALL, seed: 12 });
  await generator.generate();
  await expect(generator.error).toHaveCount(0);
  expect(bodies.at(-1)).toMatchObject({ model: demo.name });
  await expect(page.getByTestId("used-model")).toHaveText(demo.name);

  // Back to the default: nothing sent (the real worker's default is the demo model anyway).
  await page.getByRole("radio", { name: /not-here-xl/ }).click();
  await generator.generate();
  expect(bodies.at(-1)).not.toHaveProperty("model");

  // The first image, reused from the gallery, brings back the model it was made with.
  await generator.gallery.nth(1).click();
  await page.getByTestId("viewer-reuse").click();
  await expect(page.getByRole("radio", { name: new RegExp(demo.name) })).toBeChecked();
});

test("with no LoRAs in the library the picker says so, and a prompt tag is marked unknown", async ({ generator, page }) => {
  await generator.openAdvanced();
  await expect(page.getByTestId("loras-empty")).toHaveText("No LoRAs in models/loras/");
  await expect(page.getByLabel("LoRA to add")).toHaveCount(0);
  await generator.prompt.fill("a cat <lora:ink:0.5>, <lora:broken:x>");
  const chips = page.getByTestId("prompt-lora");
  await expect(chips).toHaveCount(1);
  await expect(chips).toHaveAttribute("data-name", "ink");
  await expect(chips).toHaveAttribute("data-unknown", "true");
  await expect(chips).toContainText("ink× 0.5· unknown");
});

test("a LoRA added with its weight is sent as loras, and the worker's refusal of an unknown one is shown", async ({
  page,
  request,
  stack,
}) => {
  let bodies: unknown[] = [];
  const generator = await openWith(page, stack, async () => {
    await serve(page, stack, "/loras", FAKE_LORAS);
    bodies = await recordPosts(page, stack);
  });
  await expect(page.getByTestId("loras-empty")).toHaveCount(0);
  const choose = page.getByLabel("LoRA to add");
  await expect(choose.locator("option")).toHaveText(["Choose a LoRA…", "Ink wash (style/ink)", "detail"]);
  await choose.selectOption("style/ink");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await page.getByRole("spinbutton", { name: "style/ink" }).fill("0.6");
  await choose.selectOption("detail");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await expect(page.getByTestId("lora-entry")).toHaveCount(2);
  await expect(choose.locator("option")).toHaveText(["Every LoRA is added"]);
  await page.getByRole("button", { name: "Remove detail" }).click();
  await expect(page.getByTestId("lora-entry")).toHaveCount(1);
  await expect(page.getByRole("button", { name: /^Advanced/ })).toContainText("1 LoRA");

  // A tag of a listed LoRA is a known chip; one of an unlisted LoRA is marked unknown.
  await generator.fill({ prompt: "ink harbour <lora:detail:0.3> <lora:nope>", ...SMALL, seed: 13 });
  await expect(page.locator('[data-testid="prompt-lora"][data-name="detail"]')).not.toHaveAttribute("data-unknown", "true");
  await expect(page.locator('[data-testid="prompt-lora"][data-name="detail"]')).toHaveAttribute("data-weight", "0.3");
  await expect(page.locator('[data-testid="prompt-lora"][data-name="nope"]')).toHaveAttribute("data-unknown", "true");

  await generator.generate();
  expect(bodies).toHaveLength(1);
  const sent = bodies[0] as Record<string, unknown>;
  expect(sent).toMatchObject({ positivePrompt: "ink harbour <lora:detail:0.3> <lora:nope>", loras: [{ name: "style/ink", weight: 0.6 }] });
  // The real worker has no such LoRA: it refuses with 422, and the page shows the api's own message.
  const direct = await request.post(`${apiUrl(stack)}/generateimage`, { data: sent });
  expect(direct.status()).toBe(422);
  const expected = (await direct.json()) as { message: string };
  await expect(generator.error).toContainText("422");
  await expect(page.getByTestId("generate-error-message")).toContainText(expected.message);
  await generator.screenshot("loras");
});

test("Reuse of a gallery image puts back the picker's LoRAs with their weights, its model and sampler", async ({
  page,
  request,
  stack,
}) => {
  await emptyGallery(request, stack);
  const models = await realModels(stack, request);
  const demo = models.find((m) => m.demo)!;
  const other: Model = { name: "not-here-xl", title: "not-here-xl", hash: null, kind: "file", loaded: false, default: true, demo: false };
  // A real image in the real gallery, made on the demo model with Euler a.
  const made = await request.post(`${apiUrl(stack)}/generateimage`, {
    data: { positivePrompt: "ink harbour", seed: 14, model: demo.name, sampler: "Euler a", ...SMALL },
  });
  expect(made.headers()["x-image-id"]).toBeTruthy();
  const generator = await openWith(page, stack, async () => {
    // A library where another model is the default, with LoRAs the demo stack has not got.
    await serve(page, stack, "/models", [{ ...demo, default: false }, other]);
    await serve(page, stack, "/loras", FAKE_LORAS);
    // The demo stack has no LoRAs to make it with: its row, as GET /images answers it, gets the ones a request sent.
    await page.route(`${apiUrl(stack)}/images?*`, async (route: Route) => {
      const response = await route.fetch();
      const body = (await response.json()) as { images: { request: Record<string, unknown>; loras: unknown[] }[] };
      for (const image of body.images) {
        image.request.loras = [{ name: "style/ink", weight: 0.6 }, { name: "gone", weight: 1 }];
        image.loras = [{ name: "style/ink", weight: 0.6 }];
      }
      await route.fulfill({ response, json: body });
    });
  });
  await generator.gallery.first().click();
  await expect(page.getByTestId("image-viewer").getByTestId("used-loras")).toHaveText("style/ink × 0.6");
  await page.getByTestId("viewer-reuse").click();

  await expect(page.getByTestId("import-notes")).toHaveText("The LoRA “gone” is not in models/loras/: it was left out.");
  await expect(generator.prompt).toHaveValue("ink harbour");
  await expect(page.getByRole("radio", { name: new RegExp(demo.name) })).toBeChecked();
  await expect(page.getByLabel("Sampler")).toHaveValue("Euler a");
  await expect(page.getByTestId("lora-entry")).toHaveCount(1);
  await expect(page.getByRole("spinbutton", { name: "style/ink" })).toHaveValue("0.6");
});

test("an image's Model and Lora hashes fill the model and LoRA pickers when the library lists them", async ({
  page,
  request,
  stack,
}) => {
  const models = await realModels(stack, request);
  const demo = models.find((m) => m.demo)!;
  const other: Model = { name: "juggernaut", title: "juggernaut [abcdef0123]", hash: "abcdef0123", kind: "file", loaded: false, default: false, demo: false };
  const generator = await openWith(page, stack, async () => {
    await serve(page, stack, "/models", [demo, other]);
    await serve(page, stack, "/loras", FAKE_LORAS);
  });
  const png = Buffer.from(await (await request.post(`${apiUrl(stack)}/generateimage`, { data: { positivePrompt: "x", ...SMALL } })).body());
  const parameters =
    "a fox <lora:detail:0.4>\nSteps: 2, Seed: 5, Size: 64x64, Model hash: abcdef0123, Model: juggernaut, " +
    'Lora hashes: "style/ink: 0123456789ab, detail: ffffffffffff, gone: 999999999999"';
  const text = Buffer.from(`parameters\0${parameters}`, "latin1");
  const chunk = Buffer.alloc(12 + text.length);
  chunk.writeUInt32BE(text.length, 0);
  chunk.write("tEXt", 4, "latin1");
  text.copy(chunk, 8); // the page does not check the CRC
  const edited = Buffer.concat([png.subarray(0, 33), chunk, png.subarray(33)]); // right after IHDR
  await page.getByTestId("import-file").setInputFiles({ name: "fox.png", mimeType: "image/png", buffer: edited });

  await expect(page.getByTestId("import-notice")).toContainText("Parameters read from fox.png");
  await expect(page.getByTestId("import-notes")).toContainText("The LoRA “gone” is not in models/loras/");
  await expect(generator.prompt).toHaveValue("a fox <lora:detail:0.4>");
  await expect(page.getByRole("radio", { name: /juggernaut/ })).toBeChecked();
  // detail is the prompt's tag (its weight with it); only style/ink goes to the picker, at weight 1.
  await expect(page.getByTestId("lora-entry")).toHaveCount(1);
  await expect(page.getByRole("spinbutton", { name: "style/ink" })).toHaveValue("1");
  await expect(page.locator('[data-testid="prompt-lora"][data-name="detail"]')).toHaveAttribute("data-weight", "0.4");
});

test("the done event's model and LoRAs are shown in the image details", async ({ generator, page, request, stack }) => {
  const png = Buffer.from(await (await request.post(`${apiUrl(stack)}/generateimage`, { data: { positivePrompt: "x", ...SMALL } })).body());
  const image = `data:image/png;base64,${png.toString("base64")}`;
  // What a worker with these LoRAs answers (the demo stack has none): the request's and the prompt tag's.
  const done = {
    image,
    images: [{ image, seed: 21 }],
    seed: 21,
    width: 128,
    height: 128,
    steps: 2,
    guidanceScale: 7,
    model: "juggernaut",
    demoModel: false,
    generationSeconds: 0.5,
    filename: "img-21.png",
    worker: "test",
    sampler: "Euler",
    scheduleType: "Automatic",
    infotext: "",
    loras: [
      { name: "style/ink", weight: 0.6 },
      { name: "detail", weight: 1 },
    ],
  };
  const cors = { "Access-Control-Allow-Origin": new URL(page.url()).origin, "Access-Control-Allow-Headers": "content-type" };
  await page.route(`${apiUrl(stack)}/generateimage/stream`, (route) =>
    route.request().method() === "OPTIONS"
      ? route.fulfill({ status: 204, headers: { ...cors, "Access-Control-Allow-Methods": "POST" } })
      : route.fulfill({ status: 200, contentType: "text/event-stream", headers: cors, body: `event: done\ndata: ${JSON.stringify(done)}\n\n` }),
  );
  await generator.fill({ prompt: "ink <lora:detail>", ...SMALL });
  await generator.generate();
  await expect(page.getByTestId("used-model")).toHaveText("juggernaut");
  await expect(page.getByTestId("used-loras")).toHaveText("style/ink × 0.6, detail × 1");
});
