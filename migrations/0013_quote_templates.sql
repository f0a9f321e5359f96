-- The seeded quote card designs (issue 6): distinct looks, one premium. `design_config`
-- is what the renderer reads (domain/social/cards.py); `platform_optimizations` gives
-- the card size per platform.
INSERT INTO quote_templates (name, category, description, design_config, platform_optimizations,
                             is_premium, sort_order)
VALUES
('Classic Paper', 'academic', 'Dark serif type on warm paper, a thin rule under the quote',
 '{"background": {"colors": ["#FBF7EF"]}, "text_color": "#2B2B2B", "accent_color": "#B08D57",
   "font": "serif", "align": "center", "quote_marks": true, "rule": true, "padding": 0.09,
   "max_font_size": 72, "min_font_size": 24}',
 '{"default": [1200, 1200], "instagram": [1080, 1080], "twitter": [1200, 675],
   "facebook": [1200, 630], "linkedin": [1200, 627], "pinterest": [1000, 1500],
   "story": [1080, 1920]}', false, 1),
('Midnight', 'creative', 'White sans type on a deep blue gradient with a sky-blue accent',
 '{"background": {"colors": ["#0F172A", "#1E3A5F"]}, "text_color": "#F8FAFC",
   "accent_color": "#38BDF8", "font": "sans", "align": "left", "quote_marks": true,
   "rule": false, "padding": 0.1, "max_font_size": 68, "min_font_size": 22}',
 '{"default": [1200, 1200], "instagram": [1080, 1080], "twitter": [1200, 675],
   "facebook": [1200, 630], "linkedin": [1200, 627], "pinterest": [1000, 1500],
   "story": [1080, 1920]}', false, 2),
('Sunrise', 'motivational', 'Bold white type on an orange-to-rose gradient',
 '{"background": {"colors": ["#F97316", "#DB2777"]}, "text_color": "#FFFFFF",
   "accent_color": "#FFF7ED", "font": "sans-bold", "align": "center", "quote_marks": false,
   "rule": true, "padding": 0.1, "max_font_size": 76, "min_font_size": 24}',
 '{"default": [1200, 1200], "instagram": [1080, 1080], "twitter": [1200, 675],
   "facebook": [1200, 630], "linkedin": [1200, 627], "pinterest": [1000, 1500],
   "story": [1080, 1920]}', false, 3),
('Typewriter', 'professional', 'Monospaced type on white inside a black frame',
 '{"background": {"colors": ["#FFFFFF"]}, "text_color": "#111111", "accent_color": "#111111",
   "font": "mono", "align": "left", "quote_marks": false, "rule": false, "border": 14,
   "padding": 0.11, "max_font_size": 56, "min_font_size": 20}',
 '{"default": [1200, 1200], "instagram": [1080, 1080], "twitter": [1200, 675],
   "facebook": [1200, 630], "linkedin": [1200, 627], "pinterest": [1000, 1500],
   "story": [1080, 1920]}', false, 4),
('Gilded', 'premium', 'Serif type in ivory on forest green with a gold frame',
 '{"background": {"colors": ["#0B3D2E", "#062419"]}, "text_color": "#FDF8E7",
   "accent_color": "#D4AF37", "font": "serif", "align": "center", "quote_marks": true,
   "rule": true, "border": 10, "padding": 0.12, "max_font_size": 70, "min_font_size": 22}',
 '{"default": [1200, 1200], "instagram": [1080, 1080], "twitter": [1200, 675],
   "facebook": [1200, 630], "linkedin": [1200, 627], "pinterest": [1000, 1500],
   "story": [1080, 1920]}', true, 5);

-- registration with a referral code: the share that brought the reader
ALTER TABLE users ADD COLUMN referred_by_share_id uuid REFERENCES quote_shares (id)
    ON DELETE SET NULL;
CREATE INDEX index_users_on_referred_by_share_id ON users (referred_by_share_id);
