import { useId, useState, type FormEvent } from "react";
import { createPost, POST_MAX_CHARS } from "../api/posts";
import type { Post } from "../api/posts";
import { charCount } from "../lib/validation";
import type { FieldErrors } from "../api/client";
import { Alert } from "./Alert";
import { useForm } from "./useForm";

const FIELDS = ["body"] as const;

export function PostComposer({ onPosted }: { onPosted: (post: Post) => void }) {
  const [body, setBody] = useState("");
  const form = useForm(FIELDS);
  const id = useId();
  const count = charCount(body);
  const tooLong = count > POST_MAX_CHARS;
  const tooLongMessage = `Posts can be at most ${POST_MAX_CHARS.toLocaleString()} characters.`;
  const error = form.errors.body ?? (tooLong ? tooLongMessage : undefined);

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    const posted = await form.submit(
      async () => onPosted(await createPost(body)),
      (): FieldErrors => (body.trim() === "" ? { body: "Write something first." } : tooLong ? { body: tooLongMessage } : {}),
    );
    if (posted) setBody("");
  };

  return (
    <form id={form.formId} className="card composer" onSubmit={onSubmit} noValidate>
      <Alert message={form.message} />
      <div className={error ? "field field-invalid" : "field"}>
        <label htmlFor={id}>Write a post</label>
        <textarea
          id={id}
          name="body"
          rows={3}
          value={body}
          onChange={(e) => setBody(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={`${id}-count${error ? ` ${id}-error` : ""}`}
        />
        {error ? (
          <p id={`${id}-error`} className="field-error">
            {error}
          </p>
        ) : null}
      </div>
      <div className="composer-footer">
        <span id={`${id}-count`} className={tooLong ? "char-count char-count-over" : "char-count"}>
          {count.toLocaleString()} / {POST_MAX_CHARS.toLocaleString()}
        </span>
        <button type="submit" className="button button-primary" disabled={form.busy || body.trim() === "" || tooLong}>
          {form.busy ? "Posting…" : "Post"}
        </button>
      </div>
    </form>
  );
}
