import { request } from "./client";
import { query } from "./query";
import type { Post, PostsPage } from "./types";

export const POST_MAX_CHARS = 10_000;

export function listPosts(params: { limit?: number; before?: number | null } = {}): Promise<PostsPage> {
  return request<PostsPage>("GET", `/api/posts${query(params)}`);
}

export function createPost(body: string): Promise<Post> {
  return request<Post>("POST", "/api/posts", { json: { body } });
}

export function deletePost(id: Post["id"]): Promise<void> {
  return request<void>("DELETE", `/api/posts/${id}`);
}
