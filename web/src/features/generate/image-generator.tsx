"use client";

import { useCallback, useRef, useState, type FormEvent } from "react";

import type { ApiTarget } from "@/api/client";
import { Separator } from "@/components/ui/separator";
import type { GalleryImage } from "@/api/types";
import { GallerySection } from "@/features/gallery/gallery-section";
import { reuseValues } from "@/features/gallery/gallery-values";
import { useGalleryRefresh } from "@/features/gallery/use-gallery";
import { HistoryStrip } from "@/features/history/history-strip";
import { useHistory } from "@/features/history/use-history";
import type { Infotext } from "@/features/infotext/infotext";
import { DropOverlay, ImportButton, ImportNoticeView } from "@/features/infotext/infotext-import";
import { infotextLibraryValues, mergeValues } from "@/features/infotext/infotext-library";
import { infotextToValues } from "@/features/infotext/infotext-to-form";
import { useInfotextImport } from "@/features/infotext/use-infotext-import";
import { ImageToImagePanel, ModeTabs } from "@/features/img2img/image-to-image-panel";
import { withImageToImage } from "@/features/img2img/img2img-request";
import { useImageToImage } from "@/features/img2img/use-image-to-image";
import { ImagePreview } from "@/features/preview/image-preview";
import { ResultsGrid } from "@/features/preview/results-grid";
import { PromptLoraChips } from "@/features/loras/prompt-lora-chips";
import { useLoras } from "@/features/loras/use-loras";
import { useModels } from "@/features/models/use-models";
import { AdvancedSettings, type ModelChoices } from "@/features/settings/advanced-settings";
import { useSamplers } from "@/features/settings/use-samplers";
import { DemoModelNotice, ModelStatusBadge, NotReadyNotice } from "@/features/status/model-status";
import { useReady } from "@/features/status/use-ready";
import { previewRatio, toRequest, valuesOf } from "./form-values";
import { GenerateControls } from "./generate-controls";
import { isActive } from "./generation-reducer";
import { PromptFields } from "./prompt-fields";
import { resultImages } from "./result-images";
import { useElapsed } from "./use-elapsed";
import { useFormValues } from "./use-form-values";
import { useGeneration } from "./use-generation";

/** The page: prompts and settings on the left, the image (or its progress) on the right, the history below. */
export function ImageGenerator({ apiBaseUrl, apiKey }: { apiBaseUrl: string; apiKey?: string }) {
  const target: ApiTarget = { baseUrl: apiBaseUrl, apiKey };
  const { ready, defaults, maxCount, gallery, recheck } = useReady(target);
  const refreshGallery = useGalleryRefresh(target);
  const samplers = useSamplers(target, defaults !== undefined);
  const models = useModels(target, defaults !== undefined);
  const loras = useLoras(target, defaults !== undefined);
  const form = useFormValues(defaults);
  const history = useHistory();
  const generation = useGeneration(target);
  const [advancedOpen, setAdvancedOpen] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const defaultSampler = defaults?.sampler;
  const toValues = useCallback(
    (info: Infotext) =>
      mergeValues(
        infotextToValues(info, samplers.samplers, defaultSampler),
        infotextLibraryValues(info, { models: models.models, loras: loras.loras }),
      ),
    [samplers.samplers, defaultSampler, models.models, loras.loras],
  );
  const img2img = useImageToImage();
  const { setFile: setInitFile, sendImage } = img2img;
  const img2imgOn = img2img.state.enabled;
  // In image to image mode a dropped or pasted image is the init image, not parameters to read.
  const divert = useCallback(
    (file: File) => {
      if (img2imgOn) void setInitFile(file);
      return img2imgOn;
    },
    [img2imgOn, setInitFile],
  );
  const importer = useInfotextImport(toValues, form.update, divert);
  const model: ModelChoices | null = defaults ? { ...samplers, defaultSampler: defaults.sampler, maxCount: maxCount ?? 1 } : null;

  const live = isActive(generation.state) ? generation.state : null;
  const elapsedMs = useElapsed(live?.startedAt ?? null);
  const { values } = form;
  const current = history.current;

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const sent = values;
    const sizeSet = { width: form.edits.width !== undefined, height: form.edits.height !== undefined };
    const outcome = await generation.generate(withImageToImage(toRequest(sent), img2img.state, sizeSet));
    if (outcome.kind === "image") {
      history.add(resultImages(outcome, sent, outcome.elapsedMs));
      // The api kept them: the gallery shows them at its top.
      if (gallery) refreshGallery();
    } else if (outcome.kind === "problem") {
      // A worker or api that went away shows in the header too; ask again so it clears once they are back.
      recheck();
    }
  };

  // One image of a request for several, made again on its own.
  const toInit = (image: { url: string; info: { filename: string | null; seed: number | null } }) =>
    void sendImage(image.url, image.info.filename ?? `img-${image.info.seed ?? "result"}`);
  // A gallery image's values fill the form, reported as an imported file's are.
  const reuse = (image: GalleryImage) => importer.applyValues(image.filename, reuseValues(image, toValues, loras.loras));
  const takeSeed = (seed: number) => form.update({ seedMode: "fixed", seed: String(seed), count: "1" });
  const ratio = previewRatio(values, current?.info.width && current.info.height ? current.info.width / current.info.height : 1);
  // GET /ready says which model runs; while it cannot be asked, the shown image's demoModel still tells.
  let demoModel: string | null = null;
  if (ready.state === "ready") demoModel = ready.info.demoModel ? ready.info.model : null;
  else if (current?.info.demoModel) demoModel = current.info.model ?? "demo";
  const demoDescription = ready.state === "ready" ? ready.info.description ?? "" : "";

  return (
    <div className="container max-w-6xl space-y-6 py-6">
      {importer.dragging && <DropOverlay />}
      <header className="flex flex-wrap items-center justify-between gap-3">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">img-generator</h1>
          <p className="text-sm text-muted-foreground">Text to image and image to image with Stable Diffusion XL</p>
        </div>
        <ModelStatusBadge ready={ready} apiBaseUrl={apiBaseUrl} />
      </header>

      {demoModel !== null && <DemoModelNotice model={demoModel} description={demoDescription} />}
      {/* Said once: while Generate's own alert tells why it failed, the header's badge is enough. */}
      {generation.state.phase !== "failed" && <NotReadyNotice ready={ready} />}

      <Separator />

      <main className="grid gap-8 md:grid-cols-2">
        {/* noValidate: the browser's own checks would hide the api's messages, which name field, limit and value. */}
        <form ref={formRef} onSubmit={onSubmit} noValidate aria-label="Image parameters" className="space-y-5">
          <ModeTabs enabled={img2imgOn} onChange={(enabled) => img2img.update({ enabled })} />
          <PromptFields
            values={values}
            onChange={form.update}
            onSubmitShortcut={() => formRef.current?.requestSubmit()}
            promptExtra={<PromptLoraChips prompt={values.positivePrompt} loras={loras.loras} />}
          />
          {img2imgOn && <ImageToImagePanel controls={img2img} />}
          <ImportButton onFile={importer.importFile} />
          {importer.notice && <ImportNoticeView notice={importer.notice} onDismiss={importer.dismiss} />}
          <AdvancedSettings
            values={values}
            onChange={form.update}
            model={model}
            library={{ models, loras }}
            open={advancedOpen}
            onOpenChange={setAdvancedOpen}
          />
          <GenerateControls state={generation.state} elapsedMs={elapsedMs} onCancel={generation.cancel} />
        </form>

        <section aria-label="Preview" className="space-y-4">
          <ImagePreview
            ratio={ratio}
            requestedSize={`${values.width || "?"} × ${values.height || "?"}`}
            image={current}
            live={live}
            elapsedMs={elapsedMs}
            onReuseSeed={(seed) => form.update({ seedMode: "fixed", seed: String(seed) })}
            onSendToInit={toInit}
          />
          {!live && history.batch.length > 1 && (
            <ResultsGrid
              images={history.batch}
              currentId={history.currentId}
              onSelect={(image) => history.select(image.id)}
              onUseSeed={takeSeed}
              onSendToInit={toInit}
            />
          )}
        </section>
      </main>

      <Separator />

      {/* With the gallery on, the api keeps every image (across reloads); without it, this tab's own strip. */}
      {gallery === true && <GallerySection target={target} onReuse={reuse} onSendToInit={sendImage} />}
      {gallery === false && (
        <HistoryStrip
          images={history.images}
          currentId={history.currentId}
          onSelect={(image) => {
            history.select(image.id);
            // Its parameters come back too, with its seed fixed, so Generate makes the same picture again.
            form.replace(valuesOf(image.values, image.info, models.defaultModel?.name));
          }}
        />
      )}
    </div>
  );
}
