import type { components } from "@latchkey/client";
import { api, present } from "./client";

export type Post = components["schemas"]["Post"];
export type PostsPage = components["schemas"]["PostsResponse"];

export const POST_MAX_CHARS = 10_000;

export function listPosts(query: { limit?: number; before?: number | null } = {}, signal?: AbortSignal): Promise<PostsPage> {
  return api.GET("/api/posts", { params: { query: present(query) }, signal });
}

export function createPost(body: string): Promise<Post> {
  return api.POST("/api/posts", { body: { body } });
}

export function deletePost(id: Post["id"]): Promise<void> {
  return api.DELETE("/api/posts/{id}", { params: { path: { id } } });
}
