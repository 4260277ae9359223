"use client";

import { FileImage, ImageDown, Info, Loader2, X, XCircle } from "lucide-react";
import { useRef } from "react";

import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import type { ImportNotice } from "./use-infotext-import";

const ACCEPT = "image/png,image/jpeg,image/webp";

/** A file picker for what a drop or a paste does: for a keyboard, and for a page that cannot be dropped on. */
export function ImportButton({ onFile }: { onFile: (file: File) => void }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <div className="flex flex-wrap items-center gap-2 text-xs text-muted-foreground">
      <Button type="button" variant="outline" size="sm" onClick={() => input.current?.click()}>
        <FileImage aria-hidden="true" />
        Read parameters from an image…
      </Button>
      <span>or drop or paste a PNG, JPEG or WebP anywhere on the page.</span>
      <input
        ref={input}
        type="file"
        accept={ACCEPT}
        className="sr-only"
        tabIndex={-1}
        aria-hidden="true"
        data-testid="import-file"
        onChange={(event) => {
          const file = event.target.files?.[0];
          if (file) onFile(file);
          event.target.value = ""; // the same file again is a new choice
        }}
      />
    </div>
  );
}

/** What reading the image's parameters came to, with whatever could not be taken as it was. */
export function ImportNoticeView({ notice, onDismiss }: { notice: ImportNotice; onDismiss: () => void }) {
  const failed = notice.kind === "failed";
  const Icon = notice.kind === "reading" ? Loader2 : failed ? XCircle : Info;
  return (
    <Alert
      variant={failed ? "destructive" : "default"}
      role={failed ? "alert" : "status"}
      data-testid="import-notice"
      data-kind={notice.kind}
    >
      <Icon aria-hidden="true" className={notice.kind === "reading" ? "h-4 w-4 animate-spin" : "h-4 w-4"} />
      <AlertTitle className="pr-8">
        {notice.kind === "reading" && `Reading ${notice.file}…`}
        {notice.kind === "applied" && `Parameters read from ${notice.file}`}
        {failed && "No parameters read"}
      </AlertTitle>
      <AlertDescription>
        {notice.kind === "failed" && notice.message}
        {notice.kind === "applied" && (
          <>
            <p>The form now holds them: press Generate to make the picture again.</p>
            {notice.notes.length > 0 && (
              <ul data-testid="import-notes" className="mt-1 list-disc pl-4">
                {notice.notes.map((note) => (
                  <li key={note}>{note}</li>
                ))}
              </ul>
            )}
          </>
        )}
      </AlertDescription>
      <Button
        type="button"
        variant="ghost"
        size="icon"
        className="absolute right-1 top-1 h-7 w-7"
        aria-label="Dismiss"
        onClick={onDismiss}
      >
        <X aria-hidden="true" />
      </Button>
    </Alert>
  );
}

/** Over the whole page while a file is dragged over it. */
export function DropOverlay() {
  return (
    <div
      aria-hidden="true"
      data-testid="drop-overlay"
      className="pointer-events-none fixed inset-0 z-50 flex items-center justify-center bg-background/80 backdrop-blur-sm"
    >
      <div className="flex flex-col items-center gap-2 rounded-lg border-2 border-dashed border-primary p-10 text-center">
        <ImageDown className="h-10 w-10" />
        <p className="font-medium">Drop the image to read its parameters</p>
        <p className="text-sm text-muted-foreground">PNG, JPEG or WebP with AUTOMATIC1111 parameters</p>
      </div>
    </div>
  );
}
