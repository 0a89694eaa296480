"""compass-pipeline: TikTok Shop Data Compass (数据罗盘) metric definitions, executable."""

__version__ = "0.1.0"
