-- video_facts: one row per shoppable video × shop whose products it links, with its
-- published stat date in that shop's time zone, whether it is self-operated for the shop
-- (the poster has a binding in force with the shop at published_at) and the shop's GMV
-- attributed to it by the end of that stat date.
-- FAQ 视频分析 Q1 (Trends count every shoppable video; Video Details drop the affiliate
-- ones with GMV = 0). metrics.md §11.

with

videos as (
    select video_id, account_id, published_at
    from raw_videos
    where is_shoppable
),

video_products as (
    select video_id, product_id from raw_video_products
),

products as (
    select product_id, shop_id from raw_products
),

shops as (
    select shop_id, timezone from raw_shops
),

bindings as (
    select shop_id, account_id, bound_at, unbound_at from raw_account_bindings
),

lines as (
    select shop_id, stat_date, video_id, gmv
    from line_facts
    where video_id is not null
),

video_shops as (
    select distinct
        videos.video_id,
        products.shop_id,
        videos.account_id,
        videos.published_at
    from videos
    inner join video_products on videos.video_id = video_products.video_id
    inner join products on video_products.product_id = products.product_id
),

dated as (
    select
        video_shops.*,
        cast(timezone(shops.timezone, video_shops.published_at) as date) as stat_date
    from video_shops
    inner join shops on video_shops.shop_id = shops.shop_id
),

self_operated as (
    select distinct dated.video_id, dated.shop_id
    from dated
    inner join bindings
        on dated.shop_id = bindings.shop_id
        and dated.account_id = bindings.account_id
        and bindings.bound_at <= dated.published_at
        and (bindings.unbound_at is null or bindings.unbound_at > dated.published_at)
),

video_gmv as (
    select
        dated.video_id,
        dated.shop_id,
        cast(sum(lines.gmv) as decimal(18, 2)) as gmv
    from dated
    inner join lines
        on dated.video_id = lines.video_id
        and dated.shop_id = lines.shop_id
        and lines.stat_date <= dated.stat_date
    group by dated.video_id, dated.shop_id
),

final as (
    select
        dated.shop_id,
        dated.stat_date,
        dated.video_id,
        dated.account_id,
        dated.published_at,
        self_operated.video_id is not null as is_self_operated,
        cast(coalesce(video_gmv.gmv, 0) as decimal(18, 2)) as gmv_by_end_of_stat_date
    from dated
    left join self_operated
        on dated.video_id = self_operated.video_id and dated.shop_id = self_operated.shop_id
    left join video_gmv
        on dated.video_id = video_gmv.video_id and dated.shop_id = video_gmv.shop_id
)

select * from final
order by stat_date, shop_id, video_id
