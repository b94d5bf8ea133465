// Stylesheets are bundled by esbuild into dist/app.css; to TypeScript they are side-effect imports.
declare module "*.css";
