CREATE TYPE "public"."class_restriction_kind" AS ENUM('muted', 'removed');--> statement-breakpoint
CREATE TABLE "class_restrictions" (
	"class_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"kind" "class_restriction_kind" NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "class_restrictions_class_id_user_id_kind_pk" PRIMARY KEY("class_id","user_id","kind")
);
--> statement-breakpoint
CREATE TABLE "raised_hands" (
	"class_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"raised_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "raised_hands_class_id_user_id_pk" PRIMARY KEY("class_id","user_id")
);
--> statement-breakpoint
ALTER TABLE "chat_messages" ADD COLUMN "seq" bigint NOT NULL GENERATED ALWAYS AS IDENTITY (sequence name "chat_messages_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1);--> statement-breakpoint
ALTER TABLE "class_restrictions" ADD CONSTRAINT "class_restrictions_class_id_live_classes_id_fk" FOREIGN KEY ("class_id") REFERENCES "public"."live_classes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "class_restrictions" ADD CONSTRAINT "class_restrictions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "class_restrictions" ADD CONSTRAINT "class_restrictions_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "raised_hands" ADD CONSTRAINT "raised_hands_class_id_live_classes_id_fk" FOREIGN KEY ("class_id") REFERENCES "public"."live_classes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "raised_hands" ADD CONSTRAINT "raised_hands_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "raised_hands_class_raised_idx" ON "raised_hands" USING btree ("class_id","raised_at");--> statement-breakpoint
CREATE INDEX "chat_messages_class_seq_idx" ON "chat_messages" USING btree ("class_id","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "questions_one_pinned_per_class" ON "questions" USING btree ("class_id") WHERE "questions"."pinned";