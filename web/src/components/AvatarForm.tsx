import { useEffect, useId, useRef, useState, type ChangeEvent, type FormEvent } from "react";
import { AVATAR_MAX_BYTES, AVATAR_TYPES, uploadAvatar } from "../api/account";
import type { User } from "@latchkey/client";
import { bumpAvatarVersion } from "../lib/avatarVersion";
import type { FieldErrors } from "../api/client";
import { Alert } from "./Alert";
import { Avatar } from "./Avatar";
import { useForm } from "./useForm";

const FIELDS = ["avatar"] as const;

export function AvatarForm({ user }: { user: User }) {
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  const form = useForm(FIELDS);
  const id = useId();

  // Object URLs hold the file in memory until revoked.
  useEffect(() => {
    if (!preview) return;
    return () => URL.revokeObjectURL(preview);
  }, [preview]);

  const onPick = (event: ChangeEvent<HTMLInputElement>) => {
    const picked = event.target.files?.[0] ?? null;
    form.clear();
    setDone(false);
    setFile(picked);
    setPreview(picked ? URL.createObjectURL(picked) : null);
  };

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    const uploaded = await form.submit(
      async () => {
        if (file) await uploadAvatar(file);
      },
      (): FieldErrors => {
        const problem = fileProblem(file);
        return problem ? { avatar: problem } : {};
      },
    );
    if (uploaded) {
      bumpAvatarVersion();
      setFile(null);
      setPreview(null);
      setDone(true);
      if (inputRef.current) inputRef.current.value = "";
    }
  };

  const error = form.errors.avatar;
  return (
    <form id={form.formId} className="form avatar-form" onSubmit={onSubmit} noValidate>
      <Alert message={form.message} />
      <Alert tone="success" message={done ? "Your new picture is saved." : ""} />
      <div className="avatar-row">
        <figure className="avatar-figure">
          <Avatar user={user} size={72} />
          <figcaption>Current</figcaption>
        </figure>
        {preview ? (
          <figure className="avatar-figure">
            <img className="avatar" src={preview} alt="Preview of the new picture" width={72} height={72} />
            <figcaption>New</figcaption>
          </figure>
        ) : null}
      </div>
      <div className={error ? "field field-invalid" : "field"}>
        <label htmlFor={id}>Choose a picture</label>
        <input
          ref={inputRef}
          id={id}
          name="avatar"
          type="file"
          accept={AVATAR_TYPES.join(",")}
          onChange={onPick}
          aria-invalid={error ? true : undefined}
          aria-describedby={`${id}-hint${error ? ` ${id}-error` : ""}`}
        />
        {error ? (
          <p id={`${id}-error`} className="field-error">
            {error}
          </p>
        ) : null}
        <p id={`${id}-hint`} className="field-hint">
          PNG, JPEG or GIF, up to 5 MiB.
        </p>
      </div>
      <button type="submit" className="button button-primary" disabled={form.busy || !file}>
        {form.busy ? "Uploading…" : "Upload picture"}
      </button>
    </form>
  );
}

function fileProblem(file: File | null): string | undefined {
  if (!file) return "Choose a picture first.";
  if (!(AVATAR_TYPES as readonly string[]).includes(file.type)) return "Choose a PNG, JPEG or GIF image.";
  if (file.size > AVATAR_MAX_BYTES) return `That picture is ${(file.size / 1024 / 1024).toFixed(1)} MiB; the limit is 5 MiB.`;
  return undefined;
}
